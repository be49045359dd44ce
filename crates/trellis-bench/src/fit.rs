//! `trellis bench conflicts-fit`: fits the matcher's logistic model
//! ([`trellis_core::matching::model`]) on labelled pairs from the tuning
//! generator ([`crate::companies`]) and prints the weights to paste into
//! `model::WEIGHTS`.
//!
//! Pairs: for each generated query, its best candidates under the current
//! model (up to `per_query`), labelled 1 when the candidate is the record the
//! query duplicates. Fitted by Newton's method with a small L2 penalty (no
//! penalty on the bias), so the result does not depend on a learning rate.

use crate::companies as synth;
use std::process::ExitCode;
use trellis_core::matching::model::{self, FEATURES};
use trellis_core::matching::{Index, Kind, Settings};

const N: usize = FEATURES.len();

pub struct Options {
    pub records: usize,
    pub queries: usize,
    pub seed: u64,
    pub per_query: usize,
    pub l2: f64,
    pub rounds: usize,
}

/// Solves `a x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: [[f64; N]; N], mut b: [f64; N]) -> [f64; N] {
    for col in 0..N {
        let pivot = (col..N)
            .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        b.swap(col, pivot);
        let d = a[col][col];
        if d.abs() < 1e-12 {
            continue;
        }
        for row in 0..N {
            if row != col {
                let f = a[row][col] / d;
                if f != 0.0 {
                    let pivot_row = a[col];
                    for (x, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                        *x -= f * p;
                    }
                    b[row] -= f * b[col];
                }
            }
        }
    }
    let mut x = [0.0; N];
    for i in 0..N {
        x[i] = if a[i][i].abs() < 1e-12 {
            0.0
        } else {
            b[i] / a[i][i]
        };
    }
    x
}

/// Logistic regression by Newton's method; `l2` penalises every weight but
/// the bias.
pub fn fit(rows: &[([f64; N], f64)], l2: f64, start: [f64; N]) -> [f64; N] {
    let mut w = start;
    for _ in 0..50 {
        let mut grad = [0.0; N];
        let mut hess = [[0.0; N]; N];
        for (x, y) in rows {
            let p = model::probability_with(&w, x);
            let r = p * (1.0 - p);
            for i in 0..N {
                grad[i] += (y - p) * x[i];
                for j in 0..N {
                    hess[i][j] += r * x[i] * x[j];
                }
            }
        }
        for i in 1..N {
            grad[i] -= l2 * w[i];
            hess[i][i] += l2;
        }
        let step = solve(hess, grad);
        let mut change: f64 = 0.0;
        for i in 0..N {
            w[i] += step[i];
            change = change.max(step[i].abs());
        }
        if change < 1e-7 {
            break;
        }
    }
    w
}

fn log_loss(rows: &[([f64; N], f64)], w: &[f64; N]) -> f64 {
    let sum: f64 = rows
        .iter()
        .map(|(x, y)| {
            let p = model::probability_with(w, x).clamp(1e-12, 1.0 - 1e-12);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
        })
        .sum();
    sum / rows.len().max(1) as f64
}

fn pairs(
    records: &[synth::Company],
    queries: &[synth::Query],
    weights: [f64; N],
    per_query: usize,
) -> Vec<([f64; N], f64)> {
    let mut ix = Index::new(Settings {
        weights,
        ..Settings::default()
    });
    for r in records {
        ix.upsert(&r.id, Kind::Account, &r.customer());
    }
    let mut rows = Vec::new();
    for q in queries {
        for (id, f) in ix.evidence(&q.company.customer(), per_query) {
            let y = f64::from(u8::from(q.truth.as_deref() == Some(id.as_str())));
            rows.push((model::vector(&f), y));
        }
    }
    rows
}

/// F1 at 0.8 and the best F1 of `weights` on generated data.
fn check(records: &[synth::Company], queries: &[synth::Query], weights: [f64; N]) -> String {
    let mut ix = Index::new(Settings {
        weights,
        ..Settings::default()
    });
    for r in records {
        ix.upsert(&r.id, Kind::Account, &r.customer());
    }
    let found: Vec<_> = queries
        .iter()
        .map(|q| ix.search(&q.company.customer(), 5, 0.0))
        .collect();
    let results: Vec<(Option<&str>, &[trellis_core::matching::Candidate])> = queries
        .iter()
        .zip(&found)
        .map(|(q, f)| (q.truth.as_deref(), f.as_slice()))
        .collect();
    let at = crate::quality::quality(&results, 0.8);
    let best = crate::quality::best_threshold(&results);
    format!(
        "F1 at 0.8 {:.4} (P {:.4}, R {:.4}) · best F1 {:.4} at {:.3} · recall@5 {:.4}",
        at.f1, at.precision, at.recall, best.f1, best.threshold, at.recall_at_5
    )
}

pub fn run(o: &Options) -> ExitCode {
    let records = synth::companies(o.records, o.seed);
    let queries = synth::queries(&records, o.queries, 0.7, o.seed);
    // A second draw of the same generator to check the fit on.
    let check_records = synth::companies(o.records, o.seed + 1);
    let check_queries = synth::queries(&check_records, 2_000, 0.8, o.seed + 1);
    println!(
        "tuning generator: {} records, {} queries (seed {}), L2 {}; checked on seed {}",
        o.records,
        o.queries,
        o.seed,
        o.l2,
        o.seed + 1
    );
    println!(
        "current model::WEIGHTS: {}",
        check(&check_records, &check_queries, model::WEIGHTS)
    );
    // Which candidates are the best few depends on the weights: fit, then
    // fit again on the candidates the fitted weights pick.
    let mut w = model::WEIGHTS;
    for round in 1..=o.rounds {
        let rows = pairs(&records, &queries, w, o.per_query);
        let positives = rows.iter().filter(|r| r.1 > 0.5).count();
        w = fit(&rows, o.l2, w);
        println!(
            "round {round}: {} pairs ({positives} positive), log loss {:.4}; {}",
            rows.len(),
            log_loss(&rows, &w),
            check(&check_records, &check_queries, w)
        );
    }
    println!("\n| feature | weight |\n|---|---|");
    for (name, v) in FEATURES.iter().zip(&w) {
        println!("| {name} | {v:.3} |");
    }
    let list: Vec<String> = w.iter().map(|v| format!("{v:.3}")).collect();
    println!("\npub const WEIGHTS: [f64; {N}] = [{}];", list.join(", "));
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitting_recovers_the_weights_of_separable_enough_data() {
        // y = 1 when feature 1 is high; the fitted weight on it is large
        // and positive, the others near zero.
        let mut rows = Vec::new();
        for i in 0..400 {
            let mut x = [0.0; N];
            x[0] = 1.0;
            x[1] = f64::from(i % 20) / 20.0;
            x[2] = f64::from((i * 7) % 13) / 13.0;
            let y = f64::from(u8::from(x[1] + 0.1 * x[2] > 0.55 || i % 17 == 0));
            rows.push((x, y));
        }
        let w = fit(&rows, 1e-3, [0.0; N]);
        assert!(w[1] > 5.0, "{w:?}");
        assert!(w[1] > 5.0 * w[2].abs(), "{w:?}");
        assert!(log_loss(&rows, &w) < log_loss(&rows, &[0.0; N]));
    }
}
