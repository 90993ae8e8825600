//! Ensemble metrics (precision, recall, W2) against numbers computed independently with SciPy.
//!
//! The W2 references come from the transport LP solved by SciPy's HiGHS (`scipy.optimize.linprog`,
//! SciPy 1.17.1), on distance matrices given by a closed formula so both sides build the same input:
//!
//! ```python
//! i = np.arange(n)[:, None]; j = np.arange(m)[None, :]
//! D = np.abs(np.sin(1.3 * i + 0.7 * j + 0.1 * i * j)) * 1.2
//! # minimise sum(P * D**2) s.t. rows sum to 1/n, columns to 1/m, P >= 0;  W2 = sqrt(min)
//! # precision = 1 - D.min(1).mean(); recall = 1 - D.min(0).mean()
//! ```

use cryosampler::metrics::ensemble::{EnsembleMetrics, distances_from_cc, wasserstein2};

fn formula(n: usize, m: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| {
            (0..m)
                .map(|j| {
                    let (i, j) = (i as f64, j as f64);
                    (1.3 * i + 0.7 * j + 0.1 * i * j).sin().abs() * 1.2
                })
                .collect()
        })
        .collect()
}

#[test]
fn w2_precision_recall_match_scipy_highs() {
    // (n models, m maps, W2, precision, recall) from the script in the header
    let cases = [
        (16, 4, 0.5392134029035922, 0.6424922621496691, 0.7642301888179525),
        (10, 7, 0.4310534670361864, 0.7228474305145469, 0.8211889731871489),
        (50, 30, 0.1487755019742787, 0.9209113702879124, 0.9589124298973932),
    ];
    for (n, m, w2, p, r) in cases {
        let d = formula(n, m);
        let ours = EnsembleMetrics::from_distances(&d).unwrap();
        assert!((ours.w2 - w2).abs() < 1e-7, "{n}x{m}: W2 {} vs SciPy {w2}", ours.w2);
        assert!((ours.precision - p).abs() < 1e-12, "{n}x{m}: precision {} vs {p}", ours.precision);
        assert!((ours.recall - r).abs() < 1e-12, "{n}x{m}: recall {} vs {r}", ours.recall);
        // the plan is a coupling of the two uniform distributions
        for row in &ours.plan {
            assert!((row.iter().sum::<f64>() - 1.0 / n as f64).abs() < 1e-12);
        }
        for j in 0..m {
            assert!((ours.plan.iter().map(|row| row[j]).sum::<f64>() - 1.0 / m as f64).abs() < 1e-12);
        }
    }
}

#[test]
fn cc_route_equals_distance_route() {
    // CC = 1 - d^2 gives back d, so both entry points agree
    let d = formula(16, 4);
    let cc: Vec<Vec<f64>> = d.iter().map(|r| r.iter().map(|v| 1.0 - v * v).collect()).collect();
    let back = distances_from_cc(&cc).unwrap();
    for (a, b) in back.iter().flatten().zip(d.iter().flatten()) {
        assert!((a - b).abs() < 1e-12);
    }
    let m = EnsembleMetrics::from_cc(&cc).unwrap();
    assert!((m.w2 - wasserstein2(&d).unwrap()).abs() < 1e-9);
}

#[test]
fn w2_bounds_one_minus_precision_and_recall() {
    // for uniform couplings W2 >= W1 >= mean nearest distance, both ways (no clamping when d <= 1)
    for (n, m) in [(16, 4), (10, 7), (3, 9)] {
        let d: Vec<Vec<f64>> = formula(n, m).into_iter().map(|r| r.into_iter().map(|v| v.min(1.0)).collect()).collect();
        let e = EnsembleMetrics::from_distances(&d).unwrap();
        assert!(e.w2 >= 1.0 - e.precision - 1e-12 && e.w2 >= 1.0 - e.recall - 1e-12, "{e}");
    }
}
