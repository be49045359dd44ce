//! Requests per API token, per instance: a token bucket that refills at the
//! configured rate and holds ten seconds' worth, so short bursts pass and a
//! client that keeps going too fast gets `429` with `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

pub struct Limiter {
    /// Tokens per second; 0 turns limiting off.
    rate: f64,
    capacity: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets kept before full ones are forgotten.
const MAX_KEYS: usize = 10_000;

impl Limiter {
    pub fn per_minute(n: u32) -> Limiter {
        let rate = f64::from(n) / 60.0;
        Limiter {
            rate,
            capacity: (rate * 10.0).max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket, or says in how many whole
    /// seconds the next one will be allowed.
    pub fn take(&self, key: &str) -> Result<(), i64> {
        self.take_at(key, Instant::now())
    }

    fn take_at(&self, key: &str, now: Instant) -> Result<(), i64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (rate, capacity) = (self.rate, self.capacity);
            buckets.retain(|_, (level, at)| {
                *level + now.duration_since(*at).as_secs_f64() * rate < capacity
            });
        }
        let (level, at) = buckets
            .entry(key.to_string())
            .or_insert((self.capacity, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * self.rate).min(self.capacity);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *level) / self.rate).ceil().max(1.0) as i64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let l = Limiter::per_minute(60);
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(l.take_at("a", t0).is_ok(), "request {i} of the burst");
        }
        assert_eq!(l.take_at("a", t0), Err(1));
        assert!(l.take_at("b", t0).is_ok(), "tokens are counted apart");
        assert!(l.take_at("a", t0 + Duration::from_millis(1000)).is_ok());
        assert_eq!(l.take_at("a", t0 + Duration::from_millis(1100)), Err(1));
        assert!(Limiter::per_minute(0).take_at("a", t0).is_ok());
    }
}
