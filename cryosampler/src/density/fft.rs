//! 3D FFTs on maps (rustfft along each axis) and Fourier-space filters.

use rayon::prelude::*;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex64;

use super::{Grid, Map};

/// In-place 3D FFT of a `[nz][ny][nx]` complex array (unnormalised; the inverse divides by N).
pub fn fft3(data: &mut [Complex64], shape: [usize; 3], inverse: bool) {
    let [nz, ny, nx] = shape;
    assert_eq!(data.len(), nx * ny * nz, "fft3: data length does not match shape");
    let mut planner = FftPlanner::<f64>::new();
    let plan = |n: usize, planner: &mut FftPlanner<f64>| {
        if inverse { planner.plan_fft_inverse(n) } else { planner.plan_fft_forward(n) }
    };
    // x: contiguous rows
    let px = plan(nx, &mut planner);
    data.par_chunks_mut(nx).for_each(|row| px.process(row));
    // y: gather columns per z-plane
    let py = plan(ny, &mut planner);
    data.par_chunks_mut(nx * ny).for_each(|planez| {
        let mut col = vec![Complex64::new(0.0, 0.0); ny];
        for ix in 0..nx {
            for iy in 0..ny {
                col[iy] = planez[iy * nx + ix];
            }
            py.process(&mut col);
            for iy in 0..ny {
                planez[iy * nx + ix] = col[iy];
            }
        }
    });
    // z: gather pencils; parallel over y rows via a transposed copy
    let pz = plan(nz, &mut planner);
    let plane = nx * ny;
    let mut pencils: Vec<Complex64> = vec![Complex64::new(0.0, 0.0); data.len()];
    pencils.par_chunks_mut(nz).enumerate().for_each(|(p, pen)| {
        for iz in 0..nz {
            pen[iz] = data[iz * plane + p];
        }
        pz.process(pen);
    });
    data.par_chunks_mut(plane).enumerate().for_each(|(iz, planez)| {
        for (p, v) in planez.iter_mut().enumerate() {
            *v = pencils[p * nz + iz];
        }
    });
    if inverse {
        let s = 1.0 / (nx * ny * nz) as f64;
        data.par_iter_mut().for_each(|v| *v *= s);
    }
}

/// Signed frequency (cycles per A) of FFT index `i` on an axis of `n` voxels of size `h`.
#[inline]
pub fn freq(i: usize, n: usize, h: f64) -> f64 {
    let k = if i <= n / 2 { i as f64 } else { i as f64 - n as f64 };
    k / (n as f64 * h)
}

/// Multiply the spectrum of a real map by `f(|q|^2)` (q in cycles/A) and transform back.
pub fn fourier_filter(map: &Map, f: impl Fn(f64) -> f64 + Sync) -> Map {
    let g = &map.grid;
    let mut c: Vec<Complex64> = map.data.iter().map(|v| Complex64::new(*v as f64, 0.0)).collect();
    fft3(&mut c, g.shape, false);
    apply_radial(&mut c, g, f);
    fft3(&mut c, g.shape, true);
    Map { grid: g.clone(), data: c.iter().map(|v| v.re as f32).collect(), source: map.source.clone() }
}

/// Multiply a spectrum on grid `g` by `f(|q|^2)`.
pub fn apply_radial(c: &mut [Complex64], g: &Grid, f: impl Fn(f64) -> f64 + Sync) {
    let [nz, ny, nx] = g.shape;
    c.par_chunks_mut(nx * ny).enumerate().for_each(|(iz, planez)| {
        let fz = freq(iz, nz, g.voxel[2]);
        for iy in 0..ny {
            let fy = freq(iy, ny, g.voxel[1]);
            for ix in 0..nx {
                let fx = freq(ix, nx, g.voxel[0]);
                planez[iy * nx + ix] *= f(fx * fx + fy * fy + fz * fz);
            }
        }
    });
}

impl Map {
    /// Hard low-pass: keep spatial frequencies with `d > resolution` (sphere cut in Fourier space,
    /// like Phenix's box Fcalc).
    pub fn lowpass(&self, resolution: f64) -> Map {
        let cut = 1.0 / (resolution * resolution);
        fourier_filter(self, |q2| if q2 < cut { 1.0 } else { 0.0 })
    }

    /// Gaussian blur by a B-factor (A^2): multiply the spectrum by `exp(-B |q|^2 / 4)`. A negative B
    /// sharpens.
    pub fn blur_b(&self, b: f64) -> Map {
        fourier_filter(self, |q2| (-b * q2 / 4.0).exp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_delta() {
        let shape = [6, 5, 7];
        let n = 6 * 5 * 7;
        let orig: Vec<Complex64> = (0..n).map(|i| Complex64::new((i as f64 * 0.37).sin(), 0.0)).collect();
        let mut c = orig.clone();
        fft3(&mut c, shape, false);
        fft3(&mut c, shape, true);
        for (a, b) in c.iter().zip(&orig) {
            assert!((a - b).norm() < 1e-12);
        }
        // a delta at the origin has a flat spectrum
        let mut d = vec![Complex64::new(0.0, 0.0); n];
        d[0] = Complex64::new(1.0, 0.0);
        fft3(&mut d, shape, false);
        assert!(d.iter().all(|v| (v - Complex64::new(1.0, 0.0)).norm() < 1e-12));
    }

    #[test]
    fn plane_wave_lands_on_its_frequency() {
        // cos(2 pi * 2 x / (nx h)) has all its power at x-index 2 and nx-2
        let g = Grid::new([4, 4, 16], 1.5, [0.0; 3]);
        let data: Vec<f32> =
            (0..g.len()).map(|i| (2.0 * std::f64::consts::PI * 2.0 * (i % 16) as f64 / 16.0).cos() as f32).collect();
        let m = Map::new(g.clone(), data.clone()).expect("map");
        // keeping everything returns the same map; cutting below its frequency removes it
        let f = 2.0 / (16.0 * 1.5);
        let kept = m.lowpass(1.0 / f * 0.9);
        let cut = m.lowpass(1.0 / f * 1.1);
        for ((k, c), d) in kept.data.iter().zip(&cut.data).zip(&data) {
            assert!((k - d).abs() < 1e-5);
            assert!(c.abs() < 1e-5);
        }
    }
}
