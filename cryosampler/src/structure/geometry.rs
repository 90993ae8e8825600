//! Small geometry helpers on `[f64; 3]`: distances, angles, dihedrals, Kabsch superposition, RMSD.

use nalgebra::{Matrix3, Vector3};

/// Difference `a - b`.
pub fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// Dot product.
pub fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// Cross product.
pub fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

/// Euclidean norm.
pub fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

/// Distance between two points (A).
pub fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    norm(sub(a, b))
}

/// Bond angle a-b-c in degrees.
pub fn angle(a: [f64; 3], b: [f64; 3], c: [f64; 3]) -> f64 {
    let u = sub(a, b);
    let v = sub(c, b);
    let cos = dot(u, v) / (norm(u) * norm(v)).max(1e-12);
    cos.clamp(-1.0, 1.0).acos().to_degrees()
}

/// Dihedral angle a-b-c-d in degrees, in (-180, 180], IUPAC sign convention.
pub fn dihedral(a: [f64; 3], b: [f64; 3], c: [f64; 3], d: [f64; 3]) -> f64 {
    let b0 = sub(a, b);
    let b1 = sub(c, b);
    let b2 = sub(d, c);
    let n1 = norm(b1).max(1e-12);
    let b1n = b1.map(|v| v / n1);
    let v = sub(b0, b1n.map(|x| x * dot(b0, b1n)));
    let w = sub(b2, b1n.map(|x| x * dot(b2, b1n)));
    let x = dot(v, w);
    let y = dot(cross(b1n, v), w);
    y.atan2(x).to_degrees()
}

/// A rigid transform `x -> R x + t`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rigid {
    /// Rotation matrix (row-major).
    pub rot: [[f64; 3]; 3],
    /// Translation (A).
    pub trans: [f64; 3],
}

impl Rigid {
    /// The identity transform.
    pub fn identity() -> Rigid {
        Rigid { rot: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], trans: [0.0; 3] }
    }

    /// Rotation by `angle_deg` about `axis` through `centre`, then translation by `shift`.
    pub fn about(axis: [f64; 3], angle_deg: f64, centre: [f64; 3], shift: [f64; 3]) -> Rigid {
        let ax = Vector3::from(axis).normalize();
        let r = nalgebra::Rotation3::from_axis_angle(&nalgebra::Unit::new_normalize(ax), angle_deg.to_radians());
        let m = r.matrix();
        let c = Vector3::from(centre);
        let t = c - m * c + Vector3::from(shift);
        Rigid { rot: mat_to_rows(m), trans: [t.x, t.y, t.z] }
    }

    /// Apply to a point.
    pub fn apply(&self, p: [f64; 3]) -> [f64; 3] {
        let r = &self.rot;
        [
            r[0][0] * p[0] + r[0][1] * p[1] + r[0][2] * p[2] + self.trans[0],
            r[1][0] * p[0] + r[1][1] * p[1] + r[1][2] * p[2] + self.trans[1],
            r[2][0] * p[0] + r[2][1] * p[1] + r[2][2] * p[2] + self.trans[2],
        ]
    }

    /// `self` after `first` (apply `first`, then `self`).
    pub fn compose(&self, first: &Rigid) -> Rigid {
        let a = rows_to_mat(&self.rot);
        let b = rows_to_mat(&first.rot);
        let t = a * Vector3::from(first.trans) + Vector3::from(self.trans);
        Rigid { rot: mat_to_rows(&(a * b)), trans: [t.x, t.y, t.z] }
    }

    /// Rotation angle in degrees.
    pub fn angle_deg(&self) -> f64 {
        let tr = self.rot[0][0] + self.rot[1][1] + self.rot[2][2];
        ((tr - 1.0) / 2.0).clamp(-1.0, 1.0).acos().to_degrees()
    }
}

fn rows_to_mat(r: &[[f64; 3]; 3]) -> Matrix3<f64> {
    Matrix3::new(r[0][0], r[0][1], r[0][2], r[1][0], r[1][1], r[1][2], r[2][0], r[2][1], r[2][2])
}

fn mat_to_rows(m: &Matrix3<f64>) -> [[f64; 3]; 3] {
    [[m[(0, 0)], m[(0, 1)], m[(0, 2)]], [m[(1, 0)], m[(1, 1)], m[(1, 2)]], [m[(2, 0)], m[(2, 1)], m[(2, 2)]]]
}

/// Least-squares superposition (Kabsch): the rigid transform that moves `mobile` onto `target`.
/// Both slices must have the same length (at least 3 points).
pub fn kabsch(mobile: &[[f64; 3]], target: &[[f64; 3]]) -> Rigid {
    let n = mobile.len().min(target.len()).max(1) as f64;
    let cm = mobile.iter().fold(Vector3::zeros(), |s, p| s + Vector3::from(*p)) / n;
    let ct = target.iter().fold(Vector3::zeros(), |s, p| s + Vector3::from(*p)) / n;
    let mut h = Matrix3::zeros();
    for (p, q) in mobile.iter().zip(target) {
        h += (Vector3::from(*p) - cm) * (Vector3::from(*q) - ct).transpose();
    }
    let svd = h.svd(true, true);
    let (Some(u), Some(vt)) = (svd.u, svd.v_t) else {
        return Rigid::identity();
    };
    let mut d = Matrix3::identity();
    if (vt.transpose() * u.transpose()).determinant() < 0.0 {
        d[(2, 2)] = -1.0;
    }
    let r = vt.transpose() * d * u.transpose();
    let t = ct - r * cm;
    Rigid { rot: mat_to_rows(&r), trans: [t.x, t.y, t.z] }
}

/// RMSD between paired points without superposition.
pub fn rmsd(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    let n = a.len().min(b.len());
    if n == 0 {
        return f64::NAN;
    }
    let s: f64 = a.iter().zip(b).map(|(p, q)| dot(sub(*p, *q), sub(*p, *q))).sum();
    (s / n as f64).sqrt()
}

/// RMSD after optimal superposition of `a` onto `b`.
pub fn rmsd_superposed(a: &[[f64; 3]], b: &[[f64; 3]]) -> f64 {
    let t = kabsch(a, b);
    let moved: Vec<[f64; 3]> = a.iter().map(|p| t.apply(*p)).collect();
    rmsd(&moved, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dihedral_known_values() {
        // trans (180) and gauche (+60 / -60) butane-like points built by hand
        let a = [1.0, 1.0, 0.0];
        let b = [0.0, 0.0, 0.0];
        let c = [0.0, 0.0, 1.5];
        assert!((dihedral(a, b, c, [1.0, 1.0, 1.5]) - 0.0).abs() < 1e-9);
        assert!((dihedral(a, b, c, [-1.0, -1.0, 1.5]).abs() - 180.0).abs() < 1e-9);
        let d90 = dihedral([1.0, 0.0, 0.0], b, c, [0.0, 1.0, 1.5]);
        assert!((d90 - 90.0).abs() < 1e-9, "{d90}");
        assert!((angle([1.0, 0.0, 0.0], b, [0.0, 1.0, 0.0]) - 90.0).abs() < 1e-9);
    }

    #[test]
    fn kabsch_recovers_rotation() {
        let pts: Vec<[f64; 3]> =
            (0..20).map(|i| [(i as f64).sin() * 5.0, (i as f64 * 0.7).cos() * 3.0, i as f64 * 0.3]).collect();
        let t = Rigid::about([1.0, 2.0, 0.5], 33.0, [1.0, 0.0, 0.0], [2.0, -1.0, 0.5]);
        let moved: Vec<[f64; 3]> = pts.iter().map(|p| t.apply(*p)).collect();
        let fit = kabsch(&pts, &moved);
        assert!(rmsd_superposed(&pts, &moved) < 1e-9);
        for i in 0..3 {
            for j in 0..3 {
                assert!((fit.rot[i][j] - t.rot[i][j]).abs() < 1e-9);
            }
        }
        assert!((t.angle_deg() - 33.0).abs() < 1e-9);
    }
}
