//! Unpaired comparison of an ensemble of models with an ensemble of maps.
//!
//! The CryoSampler paper (Shenoy et al. 2026, arXiv 2605.09832) compares a generated set of n
//! models with the set of m maps it should explain without pairing them: the distance between
//! model i and map j is `d_ij = sqrt(1 - CC_ij)` with `CC_ij` the map-model correlation
//! (CC_volume), and three numbers summarise the sets.
//!
//! - **precision** (are the models near some map?) `= 1 - mean_i min_j d_ij`,
//! - **recall** (is every map near some model?) `= 1 - mean_j min_i d_ij`,
//! - **W2**, the 2-Wasserstein distance between the two empirical distributions with uniform
//!   weights (each model 1/n, each map 1/m) and ground cost `d^2`:
//!   `W2 = sqrt(min_P sum_ij P_ij d_ij^2)` over transport plans with those marginals.
//!
//! **The precision/recall definition is our reading, not a quotation.** We could not retrieve the
//! paper's own formula; the text only says "coverage in both directions". We take the continuous
//! coverage above (the mean nearest-neighbour distance turned into a score, like the "structure
//! accuracy" of the cryo-EM heterogeneity challenge, average min-RMSD from each predicted model
//! to the ground truth). It is the one reading we found that fits every number the paper reports:
//! for a uniform-weight coupling `W2 >= W1 >= mean_i min_j d_ij`, hence `W2 >= 1 - precision`
//! and `W2 >= 1 - recall`, and the paper's triples (precision, recall, W2) = (0.58, 0.59, 0.44),
//! (0.43, 0.43, 0.58), (0.41, 0.43, 0.61), (0.85, 0.85, 0.15) all sit just above that bound. A
//! thresholded count (the COV-P / COV-R of conformer generation, "fraction of models with a map
//! within delta") is available as [`EnsembleMetrics::coverage`]; the k-NN balls of Kynkaanniemi et
//! al. (2019) need model-model and map-map distances, which a model x map CC matrix does not hold.
//! Each per-item score is clamped to [0, 1] (`1 - min(d, 1)`), so anti-correlated pairs
//! (CC < 0, d > 1) count as no coverage rather than as negative precision.
//!
//! W2 is exact: the transport problem is solved as a min-cost flow with integer supplies
//! (m/g per model, n/g per map, g = gcd(n, m)) by successive shortest paths (Dijkstra with
//! potentials on the dense bipartite graph). For n == m it reduces to the assignment problem
//! (the Hungarian method); for n != m it solves the transport LP without replicating points.
//!
//! ```
//! use cryosampler::metrics::ensemble::EnsembleMetrics;
//! // 2 models x 2 maps of CC_volume
//! let cc = vec![vec![0.99, 0.75], vec![0.84, 0.96]];
//! let m = EnsembleMetrics::from_cc(&cc)?;
//! assert!(m.precision > 0.8 && m.recall > 0.8 && m.w2 < 0.2);
//! println!("{m}");
//! # Ok::<(), cryosampler::Error>(())
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Precision, recall and W2 of a set of models against a set of maps, with the distances and the
/// optimal transport plan they came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnsembleMetrics {
    /// `1 - mean_i min_j d_ij` over models i (per-model score clamped to [0, 1]).
    pub precision: f64,
    /// `1 - mean_j min_i d_ij` over maps j (per-map score clamped to [0, 1]).
    pub recall: f64,
    /// 2-Wasserstein distance between the uniform empirical distributions, cost `d^2`.
    pub w2: f64,
    /// Distances `d_ij`, `[model][map]`.
    pub distances: Vec<Vec<f64>>,
    /// For each model, the index of its nearest map.
    pub nearest_map: Vec<usize>,
    /// For each map, the index of its nearest model.
    pub nearest_model: Vec<usize>,
    /// Optimal transport plan `[model][map]`: mass moved (rows sum to 1/n, columns to 1/m).
    pub plan: Vec<Vec<f64>>,
}

impl EnsembleMetrics {
    /// Metrics from a `[model][map]` matrix of map-model correlations (CC_volume in the paper).
    /// Each CC is clamped to [-1, 1] and turned into `d = sqrt(1 - CC)`.
    pub fn from_cc(cc: &[Vec<f64>]) -> Result<EnsembleMetrics> {
        Self::from_distances(&distances_from_cc(cc)?)
    }

    /// Metrics from a `[model][map]` matrix of distances (finite, non-negative).
    pub fn from_distances(d: &[Vec<f64>]) -> Result<EnsembleMetrics> {
        let (n, m) = check_matrix(d, "distance")?;
        if let Some((i, j, v)) = find(d, |v| v < 0.0) {
            return Err(Error::invalid(format!("ensemble metrics: distance[{i}][{j}] = {v} is negative")));
        }
        let nearest_map: Vec<usize> = d.iter().map(|row| argmin((0..m).map(|j| row[j]))).collect();
        let nearest_model: Vec<usize> = (0..m).map(|j| argmin((0..n).map(|i| d[i][j]))).collect();
        let score = |v: f64| 1.0 - v.min(1.0);
        let precision = (0..n).map(|i| score(d[i][nearest_map[i]])).sum::<f64>() / n as f64;
        let recall = (0..m).map(|j| score(d[nearest_model[j]][j])).sum::<f64>() / m as f64;
        let cost: Vec<Vec<f64>> = d.iter().map(|row| row.iter().map(|v| v * v).collect()).collect();
        let (w2sq, plan) = transport(&cost);
        Ok(EnsembleMetrics {
            precision,
            recall,
            w2: w2sq.max(0.0).sqrt(),
            distances: d.to_vec(),
            nearest_map,
            nearest_model,
            plan,
        })
    }

    /// Number of models.
    pub fn n_models(&self) -> usize {
        self.distances.len()
    }

    /// Number of maps.
    pub fn n_maps(&self) -> usize {
        self.distances.first().map_or(0, Vec::len)
    }

    /// Thresholded coverage `(precision, recall)`: the fraction of models whose nearest map lies
    /// within `threshold` (distance units), and the fraction of maps with a model within it
    /// (COV-P / COV-R of conformer-generation benchmarks). An alternative to the continuous
    /// [`precision`](Self::precision) / [`recall`](Self::recall).
    pub fn coverage(&self, threshold: f64) -> (f64, f64) {
        let d = &self.distances;
        let p = self.nearest_map.iter().enumerate().filter(|&(i, &j)| d[i][j] <= threshold).count();
        let r = self.nearest_model.iter().enumerate().filter(|&(j, &i)| d[i][j] <= threshold).count();
        (p as f64 / self.n_models() as f64, r as f64 / self.n_maps() as f64)
    }

    /// Notebook display: the summary line and the distance matrix as an HTML table.
    pub fn evcxr_display(&self) {
        let mut html = String::from("<div><b>");
        html.push_str(&html_escape(&self.to_string()));
        html.push_str("</b><table><tr><th>d = sqrt(1-CC)</th>");
        for j in 0..self.n_maps() {
            html.push_str(&format!("<th>map {j}</th>"));
        }
        html.push_str("</tr>");
        for (i, row) in self.distances.iter().enumerate() {
            html.push_str(&format!("<tr><th>model {i}</th>"));
            for (j, v) in row.iter().enumerate() {
                let bold = self.nearest_map[i] == j;
                html.push_str(&if bold { format!("<td><b>{v:.3}</b></td>") } else { format!("<td>{v:.3}</td>") });
            }
            html.push_str("</tr>");
        }
        html.push_str("</table></div>");
        println!("EVCXR_BEGIN_CONTENT text/html\n{html}\nEVCXR_END_CONTENT");
    }
}

impl fmt::Display for EnsembleMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<EnsembleMetrics {} models x {} maps: precision {:.3} recall {:.3} W2 {:.3}>",
            self.n_models(),
            self.n_maps(),
            self.precision,
            self.recall,
            self.w2
        )
    }
}

/// `d = sqrt(1 - CC)` for a `[model][map]` CC matrix, CC clamped to [-1, 1] (so d is in
/// [0, sqrt 2]). Errors on an empty or ragged matrix or a non-finite CC.
pub fn distances_from_cc(cc: &[Vec<f64>]) -> Result<Vec<Vec<f64>>> {
    check_matrix(cc, "CC")?;
    Ok(cc.iter().map(|row| row.iter().map(|&c| (1.0 - c.clamp(-1.0, 1.0)).sqrt()).collect()).collect())
}

/// Exact 2-Wasserstein distance between n models and m maps with uniform weights, from a
/// `[model][map]` distance matrix (cost `d^2`).
pub fn wasserstein2(d: &[Vec<f64>]) -> Result<f64> {
    Ok(EnsembleMetrics::from_distances(d)?.w2)
}

fn check_matrix(a: &[Vec<f64>], what: &str) -> Result<(usize, usize)> {
    let n = a.len();
    let m = a.first().map_or(0, Vec::len);
    if n == 0 || m == 0 {
        return Err(Error::invalid(format!("ensemble metrics: empty {what} matrix ({n} models x {m} maps)")));
    }
    if let Some((i, row)) = a.iter().enumerate().find(|(_, r)| r.len() != m) {
        return Err(Error::invalid(format!("ensemble metrics: {what} row {i} has {} maps, row 0 has {m}", row.len())));
    }
    if let Some((i, j, v)) = find(a, |v| !v.is_finite()) {
        return Err(Error::invalid(format!("ensemble metrics: {what}[{i}][{j}] = {v} is not finite")));
    }
    Ok((n, m))
}

fn find(a: &[Vec<f64>], bad: impl Fn(f64) -> bool) -> Option<(usize, usize, f64)> {
    a.iter().enumerate().find_map(|(i, r)| r.iter().position(|&v| bad(v)).map(|j| (i, j, r[j])))
}

fn argmin(values: impl Iterator<Item = f64>) -> usize {
    let mut best = (0, f64::INFINITY);
    for (k, v) in values.enumerate() {
        if v < best.1 {
            best = (k, v);
        }
    }
    best.0
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Exact balanced transport between n sources of mass 1/n and m sinks of mass 1/m with cost
/// `cost[i][j]`; returns (minimal cost, plan).
///
/// Integer min-cost flow: source i supplies m/g units, sink j takes n/g units (g = gcd), total
/// lcm(n, m). Successive shortest paths from the supplies to a sink with spare demand, Dijkstra
/// on reduced costs `c_uv + p_u - p_v >= 0` (Johnson potentials), each path saturating its
/// bottleneck. Residual arcs: model i -> map j (cost c_ij, unbounded) and map j -> model i (cost
/// -c_ij, capacity = flow on ij). Dense O((n + m)^2) per path.
fn transport(cost: &[Vec<f64>]) -> (f64, Vec<Vec<f64>>) {
    let n = cost.len();
    let m = cost[0].len();
    let g = gcd(n, m);
    let mut supply = vec![(m / g) as u64; n];
    let mut demand = vec![(n / g) as u64; m];
    let total = (n / g * m) as f64;
    let mut flow = vec![vec![0u64; m]; n];
    // potentials: models 0..n, maps n..n+m; the source's potential stays 0
    let mut pot = vec![0.0f64; n + m];
    let v = n + m;
    let mut dist = vec![f64::INFINITY; v];
    let mut prev = vec![usize::MAX; v];
    let mut done = vec![false; v];
    while supply.iter().any(|&s| s > 0) {
        dist.fill(f64::INFINITY);
        prev.fill(usize::MAX);
        done.fill(false);
        for i in 0..n {
            if supply[i] > 0 {
                // arc source -> i, cost 0, reduced 0 + 0 - pot[i] (pot[i] <= 0 while i has supply)
                dist[i] = (-pot[i]).max(0.0);
            }
        }
        loop {
            let mut u = usize::MAX;
            let mut best = f64::INFINITY;
            for k in 0..v {
                if !done[k] && dist[k] < best {
                    best = dist[k];
                    u = k;
                }
            }
            if u == usize::MAX {
                break;
            }
            done[u] = true;
            if u < n {
                for (j, &c) in cost[u].iter().enumerate() {
                    let w = n + j;
                    let nd = dist[u] + (c + pot[u] - pot[w]).max(0.0);
                    if !done[w] && nd < dist[w] {
                        dist[w] = nd;
                        prev[w] = u;
                    }
                }
            } else {
                let j = u - n;
                for i in 0..n {
                    if flow[i][j] > 0 {
                        let nd = dist[u] + (-cost[i][j] + pot[u] - pot[i]).max(0.0);
                        if !done[i] && nd < dist[i] {
                            dist[i] = nd;
                            prev[i] = u;
                        }
                    }
                }
            }
        }
        // sink: the map with spare demand at the smallest true distance dist + pot
        let mut sink = usize::MAX;
        let mut best = f64::INFINITY;
        for (j, &left) in demand.iter().enumerate() {
            let w = n + j;
            if left > 0 && dist[w].is_finite() && dist[w] + pot[w] < best {
                best = dist[w] + pot[w];
                sink = w;
            }
        }
        if sink == usize::MAX {
            break; // cannot happen for a complete bipartite graph with balanced masses
        }
        // bottleneck along the path
        let mut delta = demand[sink - n];
        let mut w = sink;
        while prev[w] != usize::MAX {
            let u = prev[w];
            if u >= n {
                delta = delta.min(flow[w][u - n]); // arc map u -> model w undoes flow on (w, u)
            }
            w = u;
        }
        delta = delta.min(supply[w]);
        let start = w;
        let mut w = sink;
        while prev[w] != usize::MAX {
            let u = prev[w];
            if u < n {
                flow[u][w - n] += delta;
            } else {
                flow[w][u - n] -= delta;
            }
            w = u;
        }
        supply[start] -= delta;
        demand[sink - n] -= delta;
        for k in 0..v {
            if dist[k].is_finite() {
                pot[k] += dist[k];
            }
        }
    }
    let mut plan = vec![vec![0.0; m]; n];
    let mut total_cost = 0.0;
    for i in 0..n {
        for j in 0..m {
            let p = flow[i][j] as f64 / total;
            plan[i][j] = p;
            total_cost += p * cost[i][j];
        }
    }
    (total_cost, plan)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Brute force: replicate models m/g times and maps n/g times, then try every assignment.
    fn brute_w2(d: &[Vec<f64>]) -> f64 {
        let (n, m) = (d.len(), d[0].len());
        let g = gcd(n, m);
        let rows: Vec<usize> = (0..n).flat_map(|i| std::iter::repeat_n(i, m / g)).collect();
        let cols: Vec<usize> = (0..m).flat_map(|j| std::iter::repeat_n(j, n / g)).collect();
        let k = rows.len();
        let mut perm: Vec<usize> = (0..k).collect();
        let mut best = f64::INFINITY;
        // Heap's algorithm over all k! permutations
        let mut c = vec![0usize; k];
        let eval = |p: &[usize]| (0..k).map(|t| d[rows[t]][cols[p[t]]].powi(2)).sum::<f64>() / k as f64;
        best = best.min(eval(&perm));
        let mut i = 0;
        while i < k {
            if c[i] < i {
                if i % 2 == 0 {
                    perm.swap(0, i);
                } else {
                    perm.swap(c[i], i);
                }
                best = best.min(eval(&perm));
                c[i] += 1;
                i = 0;
            } else {
                c[i] = 0;
                i += 1;
            }
        }
        best.sqrt()
    }

    #[test]
    fn identical_sets_have_zero_w2_and_full_coverage() {
        // models are the maps themselves: CC 1 on the diagonal, 0.5 elsewhere (d = sqrt 0.5)
        let cc: Vec<Vec<f64>> = (0..3).map(|i| (0..3).map(|j| if i == j { 1.0 } else { 0.5 }).collect()).collect();
        let m = EnsembleMetrics::from_cc(&cc).unwrap();
        assert_eq!(m.w2, 0.0);
        assert_eq!((m.precision, m.recall), (1.0, 1.0));
        assert_eq!(m.nearest_map, vec![0, 1, 2]);
        for i in 0..3 {
            assert!(close(m.plan[i][i], 1.0 / 3.0, 1e-15));
        }
    }

    #[test]
    fn two_by_two_needs_the_non_greedy_assignment() {
        // d = [[0.1, 0.2], [0.1, 0.9]]. Both models' nearest map is map 0.
        // identity: (0.01 + 0.81) / 2 = 0.41; swap: (0.04 + 0.01) / 2 = 0.025 -> W2 = sqrt(0.025)
        // precision: row minima 0.1, 0.1 -> 1 - 0.1 = 0.9
        // recall: column minima 0.1, 0.2 -> 1 - 0.15 = 0.85
        let d = vec![vec![0.1, 0.2], vec![0.1, 0.9]];
        let m = EnsembleMetrics::from_distances(&d).unwrap();
        assert!(close(m.w2, 0.025f64.sqrt(), 1e-12), "{}", m.w2);
        assert!(close(m.precision, 0.9, 1e-12));
        assert!(close(m.recall, 0.85, 1e-12));
        assert_eq!(m.plan, vec![vec![0.0, 0.5], vec![0.5, 0.0]]);
    }

    #[test]
    fn four_models_two_maps() {
        // each model carries 1/4, each map 1/2: each map takes two models.
        // d^2: m0 [0, 1], m1 [.04, .64], m2 [.36, .09], m3 [.81, .01]
        // best: map0 <- m0, m1; map1 <- m2, m3: (0 + .04 + .09 + .01) / 4 = 0.035
        // (map0 <- m0, m2 and map1 <- m1, m3 would cost (0 + .36 + .64 + .01) / 4 = 0.2525)
        // precision: row minima 0, .2, .3, .1 -> 1 - 0.15 = 0.85; recall: column minima 0, .1 -> 0.95
        let d = vec![vec![0.0, 1.0], vec![0.2, 0.8], vec![0.6, 0.3], vec![0.9, 0.1]];
        let m = EnsembleMetrics::from_distances(&d).unwrap();
        assert!(close(m.w2, 0.035f64.sqrt(), 1e-12), "{}", m.w2);
        assert!(close(m.precision, 0.85, 1e-12));
        assert!(close(m.recall, 0.95, 1e-12));
        assert_eq!(m.nearest_model, vec![0, 3]);
    }

    #[test]
    fn mass_must_split_when_sizes_differ() {
        // 2 models (1/2 each) vs 3 maps (1/3 each). d: m0 [0, 0, 1], m1 [1, 1, 0].
        // m0 can give maps 0 and 1 only 1/2 of the 2/3 they need: 1/6 comes from m1 at cost 1,
        // m1 gives map 2 its 1/3 at cost 0. W2^2 = 1/6. Every item has a partner at d = 0,
        // so precision = recall = 1 although W2 > 0 (the weights do not match).
        let d = vec![vec![0.0, 0.0, 1.0], vec![1.0, 1.0, 0.0]];
        let m = EnsembleMetrics::from_distances(&d).unwrap();
        assert!(close(m.w2, (1.0f64 / 6.0).sqrt(), 1e-12), "{}", m.w2);
        assert_eq!((m.precision, m.recall), (1.0, 1.0));
        for (i, row) in m.plan.iter().enumerate() {
            assert!(close(row.iter().sum::<f64>(), 0.5, 1e-12), "row {i}");
        }
        for j in 0..3 {
            assert!(close(m.plan.iter().map(|r| r[j]).sum::<f64>(), 1.0 / 3.0, 1e-12), "col {j}");
        }
    }

    #[test]
    fn mode_collapse_has_precision_but_no_recall() {
        // three identical models, all close to map 0 only: d rows [0.1, 0.7, 0.9]
        // precision = 1 - 0.1 = 0.9; recall = 1 - (0.1 + 0.7 + 0.9) / 3 = 0.43333
        // W2^2 = (0.01 + 0.49 + 0.81) / 3 = 0.436667 (any plan costs the same)
        let d = vec![vec![0.1, 0.7, 0.9]; 3];
        let m = EnsembleMetrics::from_distances(&d).unwrap();
        assert!(close(m.precision, 0.9, 1e-12));
        assert!(close(m.recall, 1.0 - 1.7 / 3.0, 1e-12));
        assert!(close(m.w2, (1.31f64 / 3.0).sqrt(), 1e-12));
        assert_eq!(m.coverage(0.5), (1.0, 1.0 / 3.0));
    }

    #[test]
    fn cc_is_clamped_and_scores_stay_in_unit_interval() {
        // CC 1.0000001 (rounding) -> d 0; CC -1 -> d sqrt 2 -> score clamped at 0
        let m = EnsembleMetrics::from_cc(&[vec![1.0000001, -1.0]]).unwrap();
        assert_eq!(m.distances[0][0], 0.0);
        assert!(close(m.distances[0][1], 2f64.sqrt(), 1e-15));
        let anti = EnsembleMetrics::from_cc(&[vec![-0.5], vec![-1.0]]).unwrap();
        assert_eq!((anti.precision, anti.recall), (0.0, 0.0));
    }

    #[test]
    fn bad_inputs_are_errors_naming_the_entry() {
        assert!(EnsembleMetrics::from_cc(&[]).is_err());
        let e = EnsembleMetrics::from_cc(&[vec![0.5, f64::NAN]]).unwrap_err().to_string();
        assert!(e.contains("CC[0][1]"), "{e}");
        let e = EnsembleMetrics::from_cc(&[vec![0.5, 0.4], vec![0.3]]).unwrap_err().to_string();
        assert!(e.contains("row 1"), "{e}");
        let e = EnsembleMetrics::from_distances(&[vec![-0.1]]).unwrap_err().to_string();
        assert!(e.contains("negative"), "{e}");
    }

    #[test]
    fn transport_matches_brute_force_on_pseudo_random_matrices() {
        // xorshift pseudo-random distances; brute force over all assignments of the replicated sets
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        for &(n, m) in
            &[(3, 3), (4, 4), (5, 5), (2, 3), (3, 2), (4, 2), (2, 4), (6, 3), (3, 6), (2, 6), (1, 5), (7, 1), (8, 8)]
        {
            for _ in 0..5 {
                let d: Vec<Vec<f64>> = (0..n).map(|_| (0..m).map(|_| next() * 1.4).collect()).collect();
                let ours = wasserstein2(&d).unwrap();
                let brute = brute_w2(&d);
                assert!(close(ours, brute, 1e-12), "{n}x{m}: ours {ours} brute {brute}");
            }
        }
    }

    #[test]
    fn display_is_one_line() {
        let m = EnsembleMetrics::from_distances(&[vec![0.1, 0.2], vec![0.1, 0.9]]).unwrap();
        assert_eq!(m.to_string(), "<EnsembleMetrics 2 models x 2 maps: precision 0.900 recall 0.850 W2 0.158>");
    }
}
