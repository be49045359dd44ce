//! String similarity for company names: optimal-string-alignment distance
//! (Levenshtein plus adjacent transpositions) normalised to [0, 1].

/// Reusable buffers, so scoring many candidates allocates nothing.
#[derive(Default)]
pub struct Scratch {
    a: Vec<char>,
    b: Vec<char>,
    prev2: Vec<usize>,
    prev: Vec<usize>,
    cur: Vec<usize>,
}

impl Scratch {
    /// Edit distance with transpositions (OSA) between `a` and `b`, in characters.
    pub fn distance(&mut self, a: &str, b: &str) -> usize {
        self.a.clear();
        self.a.extend(a.chars());
        self.b.clear();
        self.b.extend(b.chars());
        let (a, b) = (&self.a, &self.b);
        let (n, m) = (a.len(), b.len());
        if n == 0 || m == 0 {
            return n.max(m);
        }
        for v in [&mut self.prev2, &mut self.prev, &mut self.cur] {
            v.clear();
            v.resize(m + 1, 0);
        }
        for (j, x) in self.prev.iter_mut().enumerate() {
            *x = j;
        }
        for i in 1..=n {
            self.cur[0] = i;
            for j in 1..=m {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut d = (self.prev[j - 1] + cost)
                    .min(self.prev[j] + 1)
                    .min(self.cur[j - 1] + 1);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d = d.min(self.prev2[j - 2] + 1);
                }
                self.cur[j] = d;
            }
            std::mem::swap(&mut self.prev2, &mut self.prev);
            std::mem::swap(&mut self.prev, &mut self.cur);
        }
        self.prev[m]
    }

    /// 1 − distance / longer length; 1 for two empty strings.
    pub fn ratio(&mut self, a: &str, b: &str) -> f64 {
        let longest = a.chars().count().max(b.chars().count());
        if longest == 0 {
            return 1.0;
        }
        1.0 - self.distance(a, b) as f64 / longest as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn distances() {
        let mut s = Scratch::default();
        assert_eq!(s.distance("kitten", "sitting"), 3);
        assert_eq!(s.distance("acme", "acme"), 0);
        assert_eq!(s.distance("acme", "amce"), 1, "a transposition is one edit");
        assert_eq!(s.distance("", "abc"), 3);
        assert_eq!(s.distance("müller", "muller"), 1, "characters, not bytes");
        assert!((s.ratio("acme systems", "acme systms") - (1.0 - 1.0 / 12.0)).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn ratio_is_symmetric_bounded_and_one_only_for_equal(a in "[a-zé ]{0,12}", b in "[a-zé ]{0,12}") {
            let mut s = Scratch::default();
            let r = s.ratio(&a, &b);
            prop_assert!((0.0..=1.0).contains(&r));
            prop_assert!((r - s.ratio(&b, &a)).abs() < 1e-12);
            prop_assert_eq!(r == 1.0, a == b);
        }

        #[test]
        fn distance_obeys_the_bounds(a in "[a-c]{0,8}", b in "[a-c]{0,8}") {
            let mut s = Scratch::default();
            let d = s.distance(&a, &b);
            let (n, m) = (a.chars().count(), b.chars().count());
            prop_assert!(d >= n.abs_diff(m));
            prop_assert!(d <= n.max(m));
        }
    }
}
