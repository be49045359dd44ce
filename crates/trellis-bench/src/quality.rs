//! Measuring the matcher: precision, recall, recall@k and F1 of search
//! results against known truth.

use serde::Serialize;
use trellis_core::matching::Candidate;

/// Quality of one run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Quality {
    pub queries: usize,
    /// Queries that duplicate a record (the rest are new companies).
    pub duplicates: usize,
    /// The score from which the best candidate counts as a conflict.
    pub threshold: f64,
    /// Of the conflicts reported, the share that are the right record.
    pub precision: f64,
    /// Of the duplicates, the share reported with the right record.
    pub recall: f64,
    pub f1: f64,
    /// Of the duplicates, the share whose best candidate is the right record.
    pub recall_at_1: f64,
    /// Of the duplicates, the share with the right record among the first five.
    pub recall_at_5: f64,
}

/// `results`: for each query, the record it duplicates (if any) and the
/// candidates found, best first.
pub fn quality(results: &[(Option<&str>, &[Candidate])], threshold: f64) -> Quality {
    let (mut tp, mut fp, mut dups, mut at1, mut at5) = (0usize, 0usize, 0usize, 0usize, 0usize);
    for (truth, found) in results {
        let top = found.first();
        if let Some(t) = truth {
            dups += 1;
            if top.is_some_and(|c| c.id == *t) {
                at1 += 1;
            }
            if found.iter().take(5).any(|c| c.id == *t) {
                at5 += 1;
            }
        }
        if let Some(c) = top.filter(|c| c.score >= threshold) {
            if *truth == Some(c.id.as_str()) {
                tp += 1;
            } else {
                fp += 1;
            }
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, dups);
    Quality {
        queries: results.len(),
        duplicates: dups,
        threshold,
        precision,
        recall,
        f1: if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        },
        recall_at_1: ratio(at1, dups),
        recall_at_5: ratio(at5, dups),
    }
}

/// The threshold with the best F1, and that F1 (with its precision and
/// recall): what the flag would give if it were chosen on the answers.
pub fn best_threshold(results: &[(Option<&str>, &[Candidate])]) -> Quality {
    let mut scores: Vec<f64> = results
        .iter()
        .filter_map(|(_, f)| f.first().map(|c| c.score))
        .collect();
    scores.sort_by(f64::total_cmp);
    scores.dedup();
    let mut best = quality(results, f64::INFINITY);
    for t in scores {
        let q = quality(results, t);
        if q.f1 > best.f1 {
            best = q;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::companies as synth;
    use trellis_core::matching::{Index, Kind};

    fn cand(id: &str, score: f64) -> Candidate {
        Candidate {
            id: id.into(),
            kind: Kind::Registration,
            score,
            reasons: vec![],
        }
    }

    #[test]
    fn counts_by_the_book() {
        let a = [cand("x", 0.95), cand("y", 0.5)];
        let b = [cand("z", 0.9)];
        let c = [cand("q", 0.4), cand("w", 0.3)];
        let results: Vec<(Option<&str>, &[Candidate])> = vec![
            (Some("x"), &a),     // true positive
            (None, &b),          // false positive (a new company flagged)
            (Some("w"), &c),     // below threshold, right record second
            (Some("nope"), &[]), // missed
        ];
        let q = quality(&results, 0.8);
        assert_eq!(q.duplicates, 3);
        assert!((q.precision - 0.5).abs() < 1e-12);
        assert!((q.recall - 1.0 / 3.0).abs() < 1e-12);
        assert!((q.recall_at_1 - 1.0 / 3.0).abs() < 1e-12);
        assert!((q.recall_at_5 - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn the_best_threshold_is_found_among_the_top_scores() {
        let a = [cand("x", 0.95)];
        let b = [cand("z", 0.9)];
        let c = [cand("y", 0.7)];
        let results: Vec<(Option<&str>, &[Candidate])> =
            vec![(Some("x"), &a), (None, &b), (Some("y"), &c)];
        // At 0.95: P 1, R 0.5; at 0.9: P 0.5, R 0.5; at 0.7: P 2/3, R 1.
        let q = best_threshold(&results);
        assert!((q.threshold - 0.7).abs() < 1e-12, "{q:?}");
        assert!((q.f1 - 0.8).abs() < 1e-12, "{q:?}");
    }

    /// The matcher on generated data: the quality the benchmark reports at
    /// scale, checked on every test run at a small size.
    #[test]
    fn matcher_quality_on_generated_companies() {
        let records = synth::companies(20_000, 7);
        let mut ix = Index::default();
        for r in &records {
            ix.upsert(&r.id, Kind::Account, &r.customer());
        }
        let queries = synth::queries(&records, 1_000, 0.8, 7);
        let found: Vec<Vec<Candidate>> = queries
            .iter()
            .map(|q| ix.search(&q.company.customer(), 5, 0.0))
            .collect();
        let results: Vec<(Option<&str>, &[Candidate])> = queries
            .iter()
            .zip(&found)
            .map(|(q, f)| (q.truth.as_deref(), f.as_slice()))
            .collect();
        let q = quality(&results, 0.8);
        eprintln!("{q:?}");
        assert!(q.recall_at_5 >= 0.97, "{q:?}");
        assert!(q.f1 >= 0.93, "{q:?}");
    }
}
