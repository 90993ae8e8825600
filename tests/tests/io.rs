//! I/O against real files: EMDB maps with odd headers, the AdK benchmark maps, PDB/mmCIF models.

use cryosampler::io::{ReadOptions, read_map, read_map_header, read_models, write_map, write_models};
use cryosampler::prelude::*;
use cryosampler_tests::{data, tmpdir};

#[test]
fn emd3001_axis_order_voxel_and_nstart() {
    // facts from mrcfile: header nx,ny,nz = 73,43,25 with mapc/mapr/maps = 3 1 2,
    // voxel 0.44825/0.3925/0.45875 A (x/y/z)
    let h = read_map_header(data("maps_emdb/EMD-3001.map")).unwrap();
    assert_eq!(h.ncrs, [73, 43, 25]);
    assert_eq!(h.axis_order, [3, 1, 2]);
    let v = h.grid.voxel;
    assert!((v[0] - 0.44825).abs() < 1e-4 && (v[1] - 0.3925).abs() < 1e-4 && (v[2] - 0.45875).abs() < 1e-4, "{v:?}");
    // columns are Z, rows X, sections Y: sizes x=43, y=25, z=73
    assert_eq!(h.grid.nxyz(), [43, 25, 73]);
    assert!(h.nstart_crs.iter().any(|&n| n != 0));
    let m = read_map(data("maps_emdb/EMD-3001.map")).unwrap();
    assert_eq!(m.data.len(), 73 * 43 * 25);
    // the compressed copies read to the same voxels
    let gz = read_map(data("maps_emdb/emd_3001.map.gz")).unwrap();
    assert_eq!(gz.grid, m.grid);
    assert_eq!(gz.data, m.data);
}

#[test]
fn emd3001_permutation_is_consistent_with_raw_file_order() {
    // voxel (c, r, s) in file order must land at x = r, y = s, z = c
    let raw = mrc::Reader::open(data("maps_emdb/EMD-3001.map")).unwrap();
    let block = raw.convert::<f32>().read_volume().unwrap();
    let m = read_map(data("maps_emdb/EMD-3001.map")).unwrap();
    let (nc, nr) = (73, 43);
    for &(c, r, s) in &[(0usize, 0usize, 0usize), (5, 7, 3), (72, 42, 24), (40, 1, 20)] {
        let file_val = block.data[(s * nr + r) * nc + c];
        let ours = m.data[m.grid.index(r, s, c)];
        assert_eq!(file_val, ours, "c={c} r={r} s={s}");
    }
    // nstart is in column/row/section order: origin along x comes from the row start
    let h = read_map_header(data("maps_emdb/EMD-3001.map")).unwrap();
    let expect_x = h.nstart_crs[1] as f64 * h.grid.voxel[0];
    assert!((m.grid.origin[0] - expect_x).abs() < 1e-6);
}

#[test]
fn emd3197_bz2_and_plain_agree() {
    let a = read_map(data("maps_emdb/EMD-3197.map")).unwrap();
    let b = read_map(data("maps_emdb/EMD-3197.map.bz2")).unwrap();
    assert_eq!(a.grid.shape, [20, 20, 20]);
    assert!((a.grid.voxel[0] - 11.4).abs() < 0.05, "{:?}", a.grid.voxel);
    assert_eq!(a.data, b.data);
}

#[test]
fn adk_maps_origin_from_nstart() {
    // bench.json: origin (-9, 15, -15) A, shape zyx (50, 42, 48), voxel 1.5 A
    for k in 0..4 {
        let m = read_map(data(&format!("adk_tmd/map_{k}_noisy.mrc"))).unwrap();
        assert_eq!(m.grid.shape, [50, 42, 48]);
        assert_eq!(m.grid.isotropic_voxel(), Some(1.5));
        assert_eq!(m.grid.origin, [-9.0, 15.0, -15.0]);
    }
}

#[test]
fn map_write_read_roundtrip_keeps_cell_origin_axes() {
    let m = read_map(data("maps_emdb/EMD-3001.map")).unwrap();
    let dir = tmpdir("maprt");
    let out = dir.join("copy.mrc");
    write_map(&out, &m, false).unwrap();
    // refuses to overwrite without permission
    assert!(write_map(&out, &m, false).is_err());
    let back = read_map(&out).unwrap();
    assert!(back.grid.same_as(&m.grid), "{:?} vs {:?}", back.grid, m.grid);
    assert_eq!(back.data, m.data);
    // an independent reader (the mrc crate, raw header) sees standard axes and our cell
    let raw = mrc::Reader::open(&out).unwrap();
    let h = raw.header();
    assert_eq!([h.mapc, h.mapr, h.maps], [1, 2, 3]);
    assert!((h.xlen as f64 - m.grid.voxel[0] * 43.0).abs() < 1e-3);
    // gzip output reads back too
    let gz = dir.join("copy.mrc.gz");
    write_map(&gz, &m, false).unwrap();
    assert_eq!(read_map(&gz).unwrap().data, m.data);
}

#[test]
fn bad_maps_give_errors_naming_file_and_field() {
    let dir = tmpdir("badmaps");
    let missing = dir.join("nope.mrc");
    let e = read_map(&missing).unwrap_err().to_string();
    assert!(e.contains("nope.mrc") && e.contains("not found"), "{e}");

    let good = std::fs::read(data("adk_tmd/map_0_noisy.mrc")).unwrap();
    // truncated
    let t = dir.join("truncated.mrc");
    std::fs::write(&t, &good[..good.len() / 2]).unwrap();
    let e = read_map(&t).unwrap_err().to_string();
    assert!(e.contains("truncated.mrc") && e.contains("data"), "{e}");
    // unknown mode (word 4 = 99)
    let mut bad = good.clone();
    bad[12..16].copy_from_slice(&99i32.to_le_bytes());
    let p = dir.join("mode.mrc");
    std::fs::write(&p, &bad).unwrap();
    let e = read_map(&p).unwrap_err().to_string();
    assert!(e.contains("mode.mrc") && (e.contains("mode") || e.contains("header")), "{e}");
    // zero voxel size (xlen = 0)
    let mut bad = good.clone();
    bad[40..44].copy_from_slice(&0f32.to_le_bytes());
    let p = dir.join("zero.mrc");
    std::fs::write(&p, &bad).unwrap();
    let e = read_map(&p).unwrap_err().to_string();
    assert!(e.contains("zero.mrc") && e.contains("xlen"), "{e}");
    // NaN voxels
    let mut bad = good.clone();
    bad[1024..1028].copy_from_slice(&f32::NAN.to_le_bytes());
    let p = dir.join("nan.mrc");
    std::fs::write(&p, &bad).unwrap();
    let e = read_map(&p).unwrap_err().to_string();
    assert!(e.contains("nan.mrc") && e.contains("NaN"), "{e}");
}

#[test]
fn structures_pdb_and_mmcif() {
    let opts = ReadOptions::default();
    let cif = cryosampler::io::read_structure(data("pdb/1ake.cif"), &opts).unwrap();
    assert_eq!(
        cif.chains.iter().filter(|c| c.id == "A" || c.id == "B").count(),
        2,
        "{:?}",
        cif.chains.iter().map(|c| &c.id).collect::<Vec<_>>()
    );
    assert_eq!(cif.ca_indices().len(), 2 * 214);
    // the PDB copy holds chain A only
    let pdb = cryosampler::io::read_structure(data("pdb/1ake.pdb"), &opts).unwrap();
    assert_eq!(pdb.ca_indices().len(), 214);
    let ca_a: Vec<[f64; 3]> = cif.ca_indices().iter().take(214).map(|&i| cif.atoms[i].pos).collect();
    let ca_p: Vec<[f64; 3]> = pdb.ca_indices().iter().map(|&i| pdb.atoms[i].pos).collect();
    // same chain A, placed in another frame in the PDB copy
    assert!(cryosampler::structure::geometry::rmsd_superposed(&ca_a, &ca_p) < 1e-3);
    let big = cryosampler::io::read_structure(data("pdb/7cth.cif"), &opts).unwrap();
    assert_eq!(big.chains.len(), 10);
    assert!((16_000..17_500).contains(&big.atoms.len()), "{}", big.atoms.len());
    let bb = big.backbone().unwrap();
    assert!(bb.residues.len() > 2000);
    // chain breaks: at least one segment per chain
    assert!(*bb.segment.last().unwrap() >= 9);
}

#[test]
fn multi_model_roundtrip() {
    let models = read_models(data("pdb/2k39_nmr_3models.pdb"), &ReadOptions::default()).unwrap();
    assert_eq!(models.len(), 3);
    let dir = tmpdir("models");
    for ext in ["pdb", "cif"] {
        let out = dir.join(format!("ens.{ext}"));
        write_models(&out, &models, false).unwrap();
        let back = read_models(&out, &ReadOptions::default()).unwrap();
        assert_eq!(back.len(), 3, "{ext}");
        for (a, b) in models.iter().zip(&back) {
            assert_eq!(a.atoms.len(), b.atoms.len());
            for (x, y) in a.atoms.iter().zip(&b.atoms) {
                assert_eq!(x.name, y.name);
                for k in 0..3 {
                    assert!((x.pos[k] - y.pos[k]).abs() < 1.1e-3);
                }
            }
        }
    }
}

#[test]
fn structure_without_backbone_is_an_error() {
    let s = Structure::read(data("adk_tmd/reference.pdb")).unwrap();
    let ligand_like = s.filter_atoms(|a| !matches!(a.name.as_str(), "N" | "CA" | "C" | "O"));
    let e = ligand_like.backbone().unwrap_err().to_string();
    assert!(e.contains("reference.pdb") && e.contains("backbone"), "{e}");
}

/// Written PDB files keep the wwPDB fixed columns: every ATOM record of ubiquitin written back
/// matches the deposited file's record in columns 1-66 (record, serial, name, residue, chain,
/// number, coordinates, occupancy, B) and 77-78 (element). pdbtbx 0.12's writer left-justified
/// these fields, which cctbx refused to read.
#[test]
fn pdb_records_keep_the_wwpdb_columns() {
    let src = data("pdb/1ubi.pdb");
    let opts = ReadOptions { keep_waters: false, keep_hetero: false, plddt_b: None, ..ReadOptions::default() };
    let s = cryosampler::io::read_structure(&src, &opts).unwrap();
    let out = tmpdir("pdbcols").join("ubi.pdb");
    write_models(&out, std::slice::from_ref(&s), false).unwrap();
    let original: Vec<String> =
        std::fs::read_to_string(&src).unwrap().lines().filter(|l| l.starts_with("ATOM")).map(String::from).collect();
    let written: Vec<String> =
        std::fs::read_to_string(&out).unwrap().lines().filter(|l| l.starts_with("ATOM")).map(String::from).collect();
    assert_eq!(original.len(), written.len());
    assert_eq!(original.len(), s.atoms.len());
    for (o, w) in original.iter().zip(&written) {
        assert_eq!(&o[..66], &w[..66], "\n{o}\n{w}");
        assert_eq!(o[76..78].trim(), w[76..78].trim(), "element of\n{w}");
        assert_eq!(&w[76..78], format!("{:>2}", o[76..78].trim()), "element right-justified in\n{w}");
    }
    // TER after the chain, END at the end
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.lines().any(|l| l.starts_with("TER   ") && l[17..20] == *"GLY"), "{text}");
    assert_eq!(text.lines().last(), Some("END"));
    // names that do not fit the format are errors, not shifted columns
    let mut long = s.clone();
    long.chains[0].id = "AB".into();
    let e = write_models(tmpdir("pdbcols2").join("x.pdb"), &[long], false).unwrap_err().to_string();
    assert!(e.contains("chain id") && e.contains("mmCIF"), "{e}");
}
