//! Normal-mode baseline: an anisotropic network model (ANM) on C-alpha atoms, as ProDy builds it,
//! and conformations generated along its lowest modes.
//!
//! The model (Atilgan et al. 2001; ProDy `ANM.buildHessian` / `calcModes`): nodes are the C-alpha
//! atoms of amino-acid residues; every pair within `cutoff` (15 A, distance <= cutoff) is a spring
//! of stiffness `gamma` (1). The 3N x 3N Hessian has off-diagonal super-elements
//! `H_ij = -gamma d d^T / |d|^2` (d = r_j - r_i) and diagonal blocks `H_ii = -sum_j H_ij`.
//! Its six zero eigenvalues (rigid-body motions) are dropped, as is every eigenvalue below 1e-6
//! (ProDy's `ZERO`; a network of several disconnected parts has more zero modes); the next
//! `n_modes` are kept in ascending order, each eigenvector of unit norm with its largest-magnitude
//! component made positive (eigenvectors have no sign of their own).
//!
//! Two solvers give the same modes:
//! - dense ([`AnmSolver::Dense`]): nalgebra's `SymmetricEigen` on the full Hessian, for small
//!   systems (the automatic choice up to [`AnmConfig::dense_max_dof`] degrees of freedom);
//! - sparse ([`AnmSolver::Sparse`]): block Krylov shift-and-invert. `K = H + s I` (s = 1e-4 x mean
//!   diagonal, so K is positive definite) is factorised once by faer's sparse Cholesky (AMD
//!   ordering, supernodal); a block Krylov basis of `K^-1` is grown from a fixed pseudo-random
//!   block, kept orthogonal to the six rigid-body vectors, and the smallest eigenpairs of H are
//!   the Rayleigh-Ritz pairs of H on that basis, iterated until every wanted pair has a residual
//!   `|H v - lambda v| <= 1e-9 |H|`. The block (10 vectors) resolves degenerate modes of symmetric
//!   assemblies.
//!
//! [`Nma::extend`] carries a mode to all atoms like ProDy's `extendModel(..., norm=True)`: each
//! atom takes the displacement of its residue's C-alpha, then the vector is renormalised.
//! [`Nma::conformations`] spreads conformations evenly over `[-rmsd, +rmsd]` C-alpha RMSD along
//! a mode (METHOD.md: 16 conformations along the first mode at 1 A).
//!
//! ```no_run
//! use cryosampler::baseline::nma::{AnmConfig, Nma};
//! use cryosampler::structure::Structure;
//! let reference = Structure::read("reference.pdb")?;
//! let nma = Nma::anm(&reference, &AnmConfig::default())?;
//! println!("{nma}; first eigenvalues {:?}", &nma.eigenvalues()[..3]);
//! let ensemble = nma.conformations(16, 1.0, &[0])?; // 16 models, -1 A .. +1 A along mode 1
//! # Ok::<(), cryosampler::Error>(())
//! ```

use std::fmt;

use faer::linalg::solvers::Solve;
use faer::sparse::{SparseColMat, Triplet};
use nalgebra::{DMatrix, SymmetricEigen};
use serde::{Deserialize, Serialize};

use crate::structure::{Element, Structure, is_amino_acid};
use crate::{Error, Result};

/// Eigenvalues below this are zero modes (ProDy's `ZERO`).
pub const ZERO_EIGENVALUE: f64 = 1e-6;

/// Which eigensolver [`anm_modes`] uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AnmSolver {
    /// Dense up to [`AnmConfig::dense_max_dof`] degrees of freedom, sparse above.
    Auto,
    /// Full dense eigendecomposition (nalgebra `SymmetricEigen`), O((3N)^3).
    Dense,
    /// Sparse Cholesky shift-and-invert block Krylov for the lowest modes only.
    Sparse,
}

/// ANM parameters (ProDy's defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnmConfig {
    /// Spring cutoff in A (default 15; pairs at distance <= cutoff are connected).
    pub cutoff: f64,
    /// Spring constant (default 1).
    pub gamma: f64,
    /// Number of non-zero modes to keep (default 20).
    pub n_modes: usize,
    /// Solver choice (default [`AnmSolver::Auto`]).
    pub solver: AnmSolver,
    /// Largest Hessian size (3N) [`AnmSolver::Auto`] solves densely (default 1500, i.e. 500 residues).
    pub dense_max_dof: usize,
}

impl Default for AnmConfig {
    fn default() -> Self {
        AnmConfig { cutoff: 15.0, gamma: 1.0, n_modes: 20, solver: AnmSolver::Auto, dense_max_dof: 1500 }
    }
}

impl AnmConfig {
    /// Set the spring cutoff (A).
    pub fn with_cutoff(mut self, cutoff: f64) -> Self {
        self.cutoff = cutoff;
        self
    }
    /// Set the spring constant.
    pub fn with_gamma(mut self, gamma: f64) -> Self {
        self.gamma = gamma;
        self
    }
    /// Set the number of non-zero modes kept.
    pub fn with_n_modes(mut self, n_modes: usize) -> Self {
        self.n_modes = n_modes;
        self
    }
    /// Set the eigensolver.
    pub fn with_solver(mut self, solver: AnmSolver) -> Self {
        self.solver = solver;
        self
    }
    /// Set the largest Hessian size solved densely by [`AnmSolver::Auto`].
    pub fn with_dense_max_dof(mut self, dof: usize) -> Self {
        self.dense_max_dof = dof;
        self
    }

    fn check(&self) -> Result<()> {
        if !(self.cutoff.is_finite() && self.cutoff > 0.0) {
            return Err(Error::invalid(format!("ANM: cutoff = {} must be a positive number of A", self.cutoff)));
        }
        if !(self.gamma.is_finite() && self.gamma > 0.0) {
            return Err(Error::invalid(format!("ANM: gamma = {} must be positive", self.gamma)));
        }
        if self.n_modes == 0 {
            return Err(Error::invalid("ANM: n_modes = 0; ask for at least one mode"));
        }
        Ok(())
    }
}

/// The ANM Hessian in 3x3 blocks: for each node, its neighbours (itself first) and their blocks.
#[derive(Clone, Debug)]
pub struct AnmHessian {
    /// Number of nodes N (the matrix is 3N x 3N).
    pub n_nodes: usize,
    /// `rows[i]` = `(j, block)` for the diagonal (j = i, first) and every neighbour j of i.
    pub rows: Vec<Vec<(usize, [[f64; 3]; 3])>>,
}

impl AnmHessian {
    /// Build the Hessian of nodes at `coords` (ProDy's `buildHessian`): pairs at distance
    /// `<= cutoff` get `H_ij = -gamma d d^T / |d|^2`, and `H_ii = -sum_j H_ij`.
    /// Errors if two nodes coincide (the super-element is undefined).
    pub fn build(coords: &[[f64; 3]], cutoff: f64, gamma: f64) -> Result<AnmHessian> {
        let n = coords.len();
        let c2 = cutoff * cutoff;
        let mut rows: Vec<Vec<(usize, [[f64; 3]; 3])>> = (0..n).map(|i| vec![(i, [[0.0; 3]; 3])]).collect();
        for i in 0..n {
            for j in i + 1..n {
                let d = [coords[j][0] - coords[i][0], coords[j][1] - coords[i][1], coords[j][2] - coords[i][2]];
                let r2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
                if r2 > c2 {
                    continue;
                }
                if r2 == 0.0 {
                    return Err(Error::invalid(format!("ANM: nodes {i} and {j} share the position {:?}", coords[i])));
                }
                let mut b = [[0.0; 3]; 3];
                for (p, row) in b.iter_mut().enumerate() {
                    for (q, v) in row.iter_mut().enumerate() {
                        *v = -gamma * d[p] * d[q] / r2;
                    }
                }
                rows[i].push((j, b));
                rows[j].push((i, b));
                for (k, diag) in [(i, 0usize), (j, 0)] {
                    let blk = &mut rows[k][diag].1;
                    for p in 0..3 {
                        for q in 0..3 {
                            blk[p][q] -= b[p][q];
                        }
                    }
                }
            }
        }
        Ok(AnmHessian { n_nodes: n, rows })
    }

    /// Size of the matrix (3N).
    pub fn dim(&self) -> usize {
        3 * self.n_nodes
    }

    /// Number of springs (node pairs within the cutoff).
    pub fn n_springs(&self) -> usize {
        self.rows.iter().map(|r| r.len() - 1).sum::<usize>() / 2
    }

    /// `y = H x`.
    pub fn mul(&self, x: &[f64], y: &mut [f64]) {
        for (i, row) in self.rows.iter().enumerate() {
            let mut acc = [0.0; 3];
            for (j, b) in row {
                let xj = &x[3 * j..3 * j + 3];
                for p in 0..3 {
                    acc[p] += b[p][0] * xj[0] + b[p][1] * xj[1] + b[p][2] * xj[2];
                }
            }
            y[3 * i..3 * i + 3].copy_from_slice(&acc);
        }
    }

    /// The full dense matrix.
    pub fn to_dense(&self) -> DMatrix<f64> {
        let n = self.dim();
        let mut h = DMatrix::zeros(n, n);
        for (i, row) in self.rows.iter().enumerate() {
            for (j, b) in row {
                for p in 0..3 {
                    for q in 0..3 {
                        h[(3 * i + p, 3 * j + q)] = b[p][q];
                    }
                }
            }
        }
        h
    }

    fn mean_diagonal(&self) -> f64 {
        let s: f64 = self.rows.iter().map(|r| r[0].1[0][0] + r[0].1[1][1] + r[0].1[2][2]).sum();
        s / self.dim().max(1) as f64
    }

    fn max_abs_row_sum(&self) -> f64 {
        let mut best: f64 = 0.0;
        for row in &self.rows {
            for p in 0..3 {
                let s: f64 = row.iter().map(|(_, b)| b[p].iter().map(|v| v.abs()).sum::<f64>()).sum();
                best = best.max(s);
            }
        }
        best
    }
}

/// Eigenvalues and unit eigenvectors (length 3N) of an ANM, zero modes removed, ascending.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnmModes {
    /// Non-zero eigenvalues, ascending.
    pub eigenvalues: Vec<f64>,
    /// The matching unit eigenvectors `[x0, y0, z0, x1, ...]`.
    pub vectors: Vec<Vec<f64>>,
    /// Number of zero eigenvalues (< [`ZERO_EIGENVALUE`]) dropped (6 for one connected network).
    pub n_zero: usize,
    /// Number of springs in the network.
    pub n_springs: usize,
    /// The solver that ran ([`AnmSolver::Dense`] or [`AnmSolver::Sparse`]).
    pub solver: AnmSolver,
}

/// ANM modes of nodes at `coords` (see the module header for the model and the solvers).
pub fn anm_modes(coords: &[[f64; 3]], config: &AnmConfig) -> Result<AnmModes> {
    config.check()?;
    let n = coords.len();
    if n < 3 {
        return Err(Error::invalid(format!("ANM: {n} nodes; a network needs at least 3")));
    }
    if let Some((i, c)) = coords.iter().enumerate().find(|(_, c)| c.iter().any(|v| !v.is_finite())) {
        return Err(Error::invalid(format!("ANM: node {i} has a non-finite coordinate {c:?}")));
    }
    let h = AnmHessian::build(coords, config.cutoff, config.gamma)?;
    let dense = match config.solver {
        AnmSolver::Dense => true,
        AnmSolver::Sparse => false,
        AnmSolver::Auto => h.dim() <= config.dense_max_dof,
    };
    let (vals, vecs) = if dense { dense_lowest(&h)? } else { sparse_lowest(&h, coords, config.n_modes)? };
    let n_zero = vals.iter().take_while(|&&v| v < ZERO_EIGENVALUE).count();
    if n_zero == vals.len() {
        return Err(Error::invalid(format!("ANM: all {} computed eigenvalues are zero (no springs?)", vals.len())));
    }
    let mut eigenvalues = Vec::new();
    let mut vectors = Vec::new();
    for (v, mut x) in vals.into_iter().zip(vecs).skip(n_zero).take(config.n_modes) {
        fix_sign(&mut x);
        eigenvalues.push(v);
        vectors.push(x);
    }
    Ok(AnmModes {
        eigenvalues,
        vectors,
        n_zero,
        n_springs: h.n_springs(),
        solver: if dense { AnmSolver::Dense } else { AnmSolver::Sparse },
    })
}

/// All eigenpairs, ascending (nalgebra).
fn dense_lowest(h: &AnmHessian) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    let eig = SymmetricEigen::new(h.to_dense());
    let mut order: Vec<usize> = (0..eig.eigenvalues.len()).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
    let vals = order.iter().map(|&k| eig.eigenvalues[k]).collect();
    let vecs = order.iter().map(|&k| eig.eigenvectors.column(k).iter().copied().collect()).collect();
    Ok((vals, vecs))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// Orthonormal basis of the rigid-body motions (3 translations, 3 rotations about the centroid).
fn rigid_basis(coords: &[[f64; 3]]) -> Vec<Vec<f64>> {
    let n = coords.len();
    let mut c = [0.0; 3];
    for p in coords {
        for k in 0..3 {
            c[k] += p[k] / n as f64;
        }
    }
    let mut raw = Vec::new();
    for k in 0..3 {
        let mut v = vec![0.0; 3 * n];
        for i in 0..n {
            v[3 * i + k] = 1.0;
        }
        raw.push(v);
    }
    for k in 0..3 {
        // rotation about axis e_k: e_k x (r - c)
        let mut v = vec![0.0; 3 * n];
        for (i, p) in coords.iter().enumerate() {
            let r = [p[0] - c[0], p[1] - c[1], p[2] - c[2]];
            let w = match k {
                0 => [0.0, -r[2], r[1]],
                1 => [r[2], 0.0, -r[0]],
                _ => [-r[1], r[0], 0.0],
            };
            v[3 * i..3 * i + 3].copy_from_slice(&w);
        }
        raw.push(v);
    }
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for mut v in raw {
        let n0 = dot(&v, &v).sqrt();
        for _ in 0..2 {
            for b in &basis {
                let a = dot(b, &v);
                axpy(-a, b, &mut v);
            }
        }
        let nv = dot(&v, &v).sqrt();
        if nv > 1e-8 * n0.max(1e-300) {
            v.iter_mut().for_each(|x| *x /= nv);
            basis.push(v);
        }
    }
    basis
}

/// Orthogonalise `v` against `basis` (twice, classical Gram-Schmidt) and normalise it;
/// None when nothing is left.
fn orthonormalize_against(v: &mut [f64], basis: &[Vec<f64>]) -> Option<()> {
    let n0 = dot(v, v).sqrt();
    if n0 == 0.0 {
        return None;
    }
    for _ in 0..2 {
        let coef: Vec<f64> = basis.iter().map(|b| dot(b, v)).collect();
        for (b, a) in basis.iter().zip(coef) {
            axpy(-a, b, v);
        }
    }
    let nv = dot(v, v).sqrt();
    if nv <= 1e-10 * n0 {
        return None;
    }
    v.iter_mut().for_each(|x| *x /= nv);
    Some(())
}

/// Lowest eigenpairs of H (including any zero modes beyond the rigid-body six, which are
/// projected out): block Krylov of (H + sI)^-1 with Rayleigh-Ritz on H.
fn sparse_lowest(h: &AnmHessian, coords: &[[f64; 3]], n_modes: usize) -> Result<(Vec<f64>, Vec<Vec<f64>>)> {
    const BLOCK: usize = 10;
    const MAX_BLOCKS: usize = 80;
    let dim = h.dim();
    let rigid = rigid_basis(coords);
    let free = dim - rigid.len();
    let want = n_modes.min(free);
    let shift = 1e-4 * h.mean_diagonal().max(f64::MIN_POSITIVE);
    let tol = 1e-9 * h.max_abs_row_sum();

    // K = H + shift I, lower triangle, factorised once
    let mut triplets = Vec::new();
    for (i, row) in h.rows.iter().enumerate() {
        for (j, b) in row {
            if *j > i {
                continue;
            }
            for (p, brow) in b.iter().enumerate() {
                for (q, &bv) in brow.iter().enumerate() {
                    let (r, c) = (3 * i + p, 3 * j + q);
                    if r >= c {
                        let v = bv + if r == c { shift } else { 0.0 };
                        triplets.push(Triplet::new(r, c, v));
                    }
                }
            }
        }
    }
    let k = SparseColMat::<usize, f64>::try_new_from_triplets(dim, dim, &triplets)
        .map_err(|e| Error::invalid(format!("ANM: sparse Hessian assembly failed: {e:?}")))?;
    let llt = k
        .sp_cholesky(faer::Side::Lower)
        .map_err(|e| Error::invalid(format!("ANM: Cholesky of H + {shift:.3e} I failed: {e:?}")))?;

    // deterministic pseudo-random start block (xorshift64*)
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut rand = || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut q: Vec<Vec<f64>> = Vec::new(); // Krylov basis, orthonormal, orthogonal to `rigid`
    let mut hq: Vec<Vec<f64>> = Vec::new(); // H q
    let mut block: Vec<Vec<f64>> = Vec::new();
    for _ in 0..BLOCK {
        let mut v: Vec<f64> = (0..dim).map(|_| rand()).collect();
        let mut against = rigid.clone();
        against.extend(block.iter().cloned());
        if orthonormalize_against(&mut v, &against).is_some() {
            block.push(v);
        }
    }
    let mut t: Vec<Vec<f64>> = Vec::new(); // T = Q^T H Q, grown row by row
    for _round in 0..MAX_BLOCKS {
        // add the block to the basis
        for v in block.drain(..) {
            let mut w = vec![0.0; dim];
            h.mul(&v, &mut w);
            let m = q.len();
            let row: Vec<f64> = (0..=m).map(|a| if a < m { dot(&q[a], &w) } else { dot(&v, &w) }).collect();
            for (a, r) in t.iter_mut().enumerate() {
                r.push(row[a]);
            }
            t.push(row);
            q.push(v);
            hq.push(w);
        }
        let m = q.len();
        // Rayleigh-Ritz on H
        let tm = DMatrix::from_fn(m, m, |a, b| 0.5 * (t[a][b] + t[b][a]));
        let eig = SymmetricEigen::new(tm);
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
        // wanted: every zero mode found plus `want` non-zero ones
        let n_zero = order.iter().take_while(|&&a| eig.eigenvalues[a] < ZERO_EIGENVALUE).count();
        let need = (n_zero + want).min(free);
        if m >= need + BLOCK || m >= free {
            let mut vals = Vec::with_capacity(need);
            let mut vecs = Vec::with_capacity(need);
            let mut converged = true;
            for &a in order.iter().take(need) {
                let theta = eig.eigenvalues[a];
                let c = eig.eigenvectors.column(a);
                let mut y = vec![0.0; dim];
                let mut hy = vec![0.0; dim];
                for (b, &cb) in c.iter().enumerate() {
                    axpy(cb, &q[b], &mut y);
                    axpy(cb, &hq[b], &mut hy);
                }
                let res: f64 = hy.iter().zip(&y).map(|(p, r)| (p - theta * r).powi(2)).sum::<f64>().sqrt();
                if res > tol {
                    converged = false;
                    break;
                }
                vals.push(theta);
                vecs.push(y);
            }
            if converged || m >= free {
                return Ok((vals, vecs));
            }
        }
        // next block: K^-1 applied to the newest block
        let start = m - m.min(BLOCK);
        let nb = m - start;
        let mut rhs = faer::Mat::<f64>::from_fn(dim, nb, |r, c| q[start + c][r]);
        llt.solve_in_place(rhs.as_mut());
        for c in 0..nb {
            let mut v: Vec<f64> = (0..dim).map(|r| rhs[(r, c)]).collect();
            let mut ok = orthonormalize_against(&mut v, &rigid).is_some();
            ok = ok && orthonormalize_against(&mut v, &q).is_some();
            ok = ok && orthonormalize_against(&mut v, &block).is_some();
            if ok {
                block.push(v);
            }
        }
        if block.is_empty() {
            // Krylov space exhausted: restart with fresh random directions
            for _ in 0..BLOCK {
                let mut v: Vec<f64> = (0..dim).map(|_| rand()).collect();
                let mut against = rigid.clone();
                against.extend(q.iter().cloned());
                against.extend(block.iter().cloned());
                if orthonormalize_against(&mut v, &against).is_some() {
                    block.push(v);
                }
            }
            if block.is_empty() {
                break;
            }
        }
    }
    Err(Error::invalid(format!(
        "ANM: the sparse eigensolver did not converge to {want} modes within {} Krylov vectors (dimension {dim})",
        q.len()
    )))
}

/// Make the largest-magnitude component positive.
fn fix_sign(v: &mut [f64]) {
    let mut best = 0.0f64;
    for &x in v.iter() {
        if x.abs() > best.abs() {
            best = x;
        }
    }
    if best < 0.0 {
        v.iter_mut().for_each(|x| *x = -*x);
    }
}

/// The C-alpha nodes of a structure: the atom named CA (element carbon) of each amino-acid
/// residue (or non-hetero residue), in residue order.
pub fn calpha_nodes(s: &Structure) -> Vec<usize> {
    (0..s.residues.len())
        .filter_map(|r| {
            let res = &s.residues[r];
            res.atoms.clone().find(|&a| {
                let at = &s.atoms[a];
                at.name == "CA" && at.element == Element::C && (is_amino_acid(&res.name) || !at.hetero)
            })
        })
        .collect()
}

/// Normal modes of a reference structure, with the operations the baseline needs.
#[derive(Clone, Debug)]
pub struct Nma {
    reference: Structure,
    nodes: Vec<usize>,
    node_of_residue: Vec<Option<usize>>,
    modes: AnmModes,
    config: AnmConfig,
}

impl Nma {
    /// ANM on the C-alpha atoms of `reference` (see [`calpha_nodes`]).
    pub fn anm(reference: &Structure, config: &AnmConfig) -> Result<Nma> {
        let nodes = calpha_nodes(reference);
        let name = reference.source.as_ref().map_or_else(|| "<structure>".to_string(), |p| p.display().to_string());
        if nodes.len() < 3 {
            return Err(Error::invalid(format!("ANM: {name} has {} C-alpha atoms; need at least 3", nodes.len())));
        }
        let coords: Vec<[f64; 3]> = nodes.iter().map(|&a| reference.atoms[a].pos).collect();
        let modes = anm_modes(&coords, config).map_err(|e| Error::invalid(format!("{name}: {e}")))?;
        let mut node_of_residue = vec![None; reference.residues.len()];
        for (k, &a) in nodes.iter().enumerate() {
            node_of_residue[reference.atoms[a].residue] = Some(k);
        }
        Ok(Nma { reference: reference.clone(), nodes, node_of_residue, modes, config: config.clone() })
    }

    /// The reference structure.
    pub fn reference(&self) -> &Structure {
        &self.reference
    }

    /// The configuration used.
    pub fn config(&self) -> &AnmConfig {
        &self.config
    }

    /// Atom indices of the nodes (C-alpha atoms), in node order.
    pub fn nodes(&self) -> &[usize] {
        &self.nodes
    }

    /// Eigenvalues and eigenvectors.
    pub fn modes(&self) -> &AnmModes {
        &self.modes
    }

    /// Non-zero eigenvalues, ascending.
    pub fn eigenvalues(&self) -> &[f64] {
        &self.modes.eigenvalues
    }

    /// Number of modes kept.
    pub fn n_modes(&self) -> usize {
        self.modes.eigenvalues.len()
    }

    /// Mode `k` (0 = lowest non-zero) over the nodes, unit norm, length 3N.
    pub fn mode(&self, k: usize) -> Result<&[f64]> {
        self.modes.vectors.get(k).map(Vec::as_slice).ok_or_else(|| {
            Error::invalid(format!("ANM: mode index {k} out of range ({} modes computed)", self.n_modes()))
        })
    }

    /// Mode `k` carried to all atoms (ProDy `extendModel(norm=True)`): every atom takes the
    /// displacement of its residue's C-alpha, atoms of residues without one stay still, and the
    /// result is renormalised to unit length over all atoms.
    pub fn extend(&self, k: usize) -> Result<Vec<[f64; 3]>> {
        let v = self.mode(k)?;
        let mut out = self.per_atom(v);
        let norm = out.iter().map(|d| d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sum::<f64>().sqrt();
        out.iter_mut().for_each(|d| *d = d.map(|x| x / norm));
        Ok(out)
    }

    fn per_atom(&self, v: &[f64]) -> Vec<[f64; 3]> {
        self.reference
            .atoms
            .iter()
            .map(|a| match self.node_of_residue[a.residue] {
                Some(n) => [v[3 * n], v[3 * n + 1], v[3 * n + 2]],
                None => [0.0; 3],
            })
            .collect()
    }

    /// |cos| between mode `k` and a C-alpha displacement (one vector per node, e.g.
    /// `CA(target) - CA(reference)`): the overlap of ProDy's `calcOverlap`.
    pub fn overlap(&self, k: usize, displacement: &[[f64; 3]]) -> Result<f64> {
        let v = self.mode(k)?;
        if displacement.len() != self.nodes.len() {
            return Err(Error::invalid(format!(
                "ANM overlap: displacement has {} vectors, the model {} nodes",
                displacement.len(),
                self.nodes.len()
            )));
        }
        let flat: Vec<f64> = displacement.iter().flatten().copied().collect();
        let n = dot(&flat, &flat).sqrt();
        if n == 0.0 {
            return Err(Error::invalid("ANM overlap: zero displacement"));
        }
        Ok((dot(v, &flat) / n).abs())
    }

    /// `n` conformations spread evenly over C-alpha RMSD `-rmsd ..= +rmsd` (A, no superposition)
    /// from the reference along a direction in mode space, all atoms moved with their residue's
    /// C-alpha. One mode gives that mode; several (`modes` = indices, 0 = lowest) are combined
    /// with thermal weights `v_k / sqrt(lambda_k)` and renormalised. Conformation t displaces node
    /// i by `t sqrt(N) u_i` (u the unit direction), so its C-alpha RMSD to the reference is |t|.
    /// `n = 1` returns the reference coordinates.
    pub fn conformations(&self, n: usize, rmsd: f64, modes: &[usize]) -> Result<Vec<Structure>> {
        if n == 0 {
            return Err(Error::invalid("NMA conformations: n = 0; ask for at least one"));
        }
        if !(rmsd.is_finite() && rmsd >= 0.0) {
            return Err(Error::invalid(format!("NMA conformations: rmsd = {rmsd} must be a non-negative number of A")));
        }
        if modes.is_empty() {
            return Err(Error::invalid("NMA conformations: no mode given (use &[0] for the first mode)"));
        }
        let dim = 3 * self.nodes.len();
        let mut u = vec![0.0; dim];
        for &k in modes {
            let v = self.mode(k)?;
            axpy(1.0 / self.modes.eigenvalues[k].sqrt(), v, &mut u);
        }
        let norm = dot(&u, &u).sqrt();
        u.iter_mut().for_each(|x| *x /= norm);
        let per_atom = self.per_atom(&u);
        let scale = (self.nodes.len() as f64).sqrt();
        (0..n)
            .map(|c| {
                let t = if n == 1 { 0.0 } else { -rmsd + 2.0 * rmsd * c as f64 / (n - 1) as f64 };
                let coords: Vec<[f64; 3]> = self
                    .reference
                    .atoms
                    .iter()
                    .zip(&per_atom)
                    .map(|(a, d)| [0, 1, 2].map(|k| a.pos[k] + t * scale * d[k]))
                    .collect();
                self.reference.with_coords(&coords)
            })
            .collect()
    }
}

impl Nma {
    /// Notebook display: the summary line and the eigenvalues of the kept modes.
    pub fn evcxr_display(&self) {
        let vals: Vec<String> = self.eigenvalues().iter().map(|v| format!("{v:.4}")).collect();
        let summary = self.to_string().replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        println!(
            "EVCXR_BEGIN_CONTENT text/html\n<div><b>{summary}</b><br>eigenvalues: {}<br>{} zero modes dropped, {} springs, {:?} solver</div>\nEVCXR_END_CONTENT",
            vals.join(", "),
            self.modes.n_zero,
            self.modes.n_springs,
            self.modes.solver
        );
    }
}

impl fmt::Display for Nma {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<Nma ANM {} nodes, cutoff {} A, gamma {}, {} modes, lambda_1 {:.4}>",
            self.nodes.len(),
            self.config.cutoff,
            self.config.gamma,
            self.n_modes(),
            self.modes.eigenvalues.first().copied().unwrap_or(f64::NAN)
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sorted_eigs(h: &AnmHessian) -> Vec<f64> {
        let mut e: Vec<f64> = SymmetricEigen::new(h.to_dense()).eigenvalues.iter().copied().collect();
        e.sort_by(f64::total_cmp);
        e
    }

    #[test]
    fn two_node_spring_has_one_mode_of_two_gamma() {
        // two nodes 3 A apart on x, gamma 2: H = [[K, -K], [-K, K]], K = gamma e_x e_x^T.
        // Eigenvalues: 2 gamma = 4 (stretching, (1,0,0,-1,0,0)/sqrt 2) and five zeros.
        let h = AnmHessian::build(&[[0.0; 3], [3.0, 0.0, 0.0]], 15.0, 2.0).unwrap();
        let e = sorted_eigs(&h);
        for v in &e[..5] {
            assert!(v.abs() < 1e-12);
        }
        assert!((e[5] - 4.0).abs() < 1e-12);
        assert_eq!(h.n_springs(), 1);
    }

    #[test]
    fn equilateral_triangle_eigenvalues() {
        // three unit springs on an equilateral triangle (side 2 A). In-plane the network is the
        // classic triangle truss: eigenvalues 0 (x3 rigid in-plane), 3/2 gamma (x2, the E modes)
        // and 3 gamma (breathing, A1); the three out-of-plane motions cost nothing (zeros) because
        // every spring is perpendicular to them. So: six zeros, 1.5, 1.5, 3.
        let s = 3f64.sqrt();
        let c = [[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [1.0, s, 0.0]];
        let h = AnmHessian::build(&c, 15.0, 1.0).unwrap();
        let e = sorted_eigs(&h);
        for v in &e[..6] {
            assert!(v.abs() < 1e-12, "{e:?}");
        }
        assert!((e[6] - 1.5).abs() < 1e-12 && (e[7] - 1.5).abs() < 1e-12 && (e[8] - 3.0).abs() < 1e-12, "{e:?}");
    }

    #[test]
    fn cutoff_is_inclusive_and_coincident_nodes_are_an_error() {
        let h = AnmHessian::build(&[[0.0; 3], [15.0, 0.0, 0.0], [30.0, 0.0, 0.0]], 15.0, 1.0).unwrap();
        assert_eq!(h.n_springs(), 2); // 0-1 and 1-2 at exactly 15 A, not 0-2
        assert!(AnmHessian::build(&[[1.0; 3], [1.0; 3]], 15.0, 1.0).is_err());
    }

    /// A compact pseudo-random cloud of nodes (a "protein" of n residues).
    fn cloud(n: usize) -> Vec<[f64; 3]> {
        let mut s = 88172645463325252u64;
        let mut r = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n).map(|_| [r() * 30.0, r() * 25.0, r() * 20.0]).collect()
    }

    #[test]
    fn hessian_rows_sum_to_zero_and_matvec_matches_dense() {
        let c = cloud(40);
        let h = AnmHessian::build(&c, 12.0, 1.0).unwrap();
        let d = h.to_dense();
        // translations are null vectors: every row of each 3-column group sums to zero
        for r in 0..d.nrows() {
            for k in 0..3 {
                let s: f64 = (0..40).map(|j| d[(r, 3 * j + k)]).sum();
                assert!(s.abs() < 1e-12);
            }
        }
        let x: Vec<f64> = (0..120).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut y = vec![0.0; 120];
        h.mul(&x, &mut y);
        let yd = &d * nalgebra::DVector::from_vec(x);
        for i in 0..120 {
            assert!((y[i] - yd[i]).abs() < 1e-12);
        }
    }

    #[test]
    fn sparse_solver_agrees_with_dense() {
        let c = cloud(150);
        let cfg = AnmConfig::default().with_cutoff(10.0).with_n_modes(12);
        let dense = anm_modes(&c, &cfg.clone().with_solver(AnmSolver::Dense)).unwrap();
        let sparse = anm_modes(&c, &cfg.with_solver(AnmSolver::Sparse)).unwrap();
        assert_eq!(dense.n_zero, 6);
        assert_eq!(sparse.n_zero, 0); // rigid-body motions are projected out, not computed
        for k in 0..12 {
            let (a, b) = (dense.eigenvalues[k], sparse.eigenvalues[k]);
            assert!((a - b).abs() < 1e-9 * a, "mode {k}: dense {a} sparse {b}");
            let cos = dot(&dense.vectors[k], &sparse.vectors[k]).abs();
            assert!(cos > 1.0 - 1e-6, "mode {k}: |cos| {cos}");
        }
    }

    #[test]
    fn disconnected_networks_drop_all_zero_modes() {
        // two triangles 100 A apart: 12 zero modes; both solvers skip them all
        let s = 3f64.sqrt();
        let mut c = vec![[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [1.0, s, 0.0]];
        c.extend(c.clone().iter().map(|p| [p[0] + 100.0, p[1], p[2] + 1.0]));
        // a third node out of plane in each, so each part is rigid in 3D: tetrahedra
        c.push([1.0, s / 3.0, 1.5]);
        c.push([101.0, s / 3.0, 2.5]);
        let cfg = AnmConfig::default().with_n_modes(4);
        let d = anm_modes(&c, &cfg.clone().with_solver(AnmSolver::Dense)).unwrap();
        assert_eq!(d.n_zero, 12);
        let sp = anm_modes(&c, &cfg.with_solver(AnmSolver::Sparse)).unwrap();
        for k in 0..4 {
            assert!((d.eigenvalues[k] - sp.eigenvalues[k]).abs() < 1e-9, "{:?} {:?}", d.eigenvalues, sp.eigenvalues);
        }
    }
}
