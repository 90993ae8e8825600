//! MolProbity-style geometry against the cctbx / MolProbity referee (fixtures in
//! `tests/fixtures/referee/geometry.json`, with their provenance), plus hand-made cases.

use cryosampler::io::{ReadOptions, read_structure};
use cryosampler::metrics::geometry::clash::ContactModel;
use cryosampler::metrics::geometry::hydrogens::protonate;
use cryosampler::metrics::geometry::rama::{phi_psi, rama_class, rama_score, rama_verdict};
use cryosampler::metrics::geometry::rotamer::{approx_rotamer_score, chi_angles, rotamer_score, rotamer_verdict};
use cryosampler::metrics::geometry::tables::{RamaClass, rota_central};
use cryosampler::metrics::geometry::{GeometryReport, Verdict, validate_geometry};
use cryosampler::structure::geometry::{angle, distance};
use cryosampler::structure::{Atom, Chain, Element, Residue, Structure};
use cryosampler_tests::data;

fn fixture() -> serde_json::Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/referee/geometry.json");
    serde_json::from_str(&std::fs::read_to_string(p).expect("fixture")).expect("json")
}

/// Read a model the way the referee sees it: waters kept (probe uses them as clash targets).
fn read(rel: &str) -> Structure {
    let opts = ReadOptions { keep_waters: true, ..ReadOptions::default() };
    read_structure(data(rel), &opts).expect("model")
}

fn validate(rel: &str) -> GeometryReport {
    validate_geometry(&read(rel)).expect("validate")
}

const MODELS: [&str; 8] = ["truth_0", "truth_1", "truth_2", "truth_3", "reference", "1ake", "3o21", "7cth"];

#[test]
fn agrees_with_the_referee_on_eight_models() {
    let fx = fixture();
    let mut table = String::from(
        "model      | rama out% ours/ref | rama fav% ours/ref | rota out% ours/ref (n) | clashscore ours/ref (clashes, atoms)\n",
    );
    let mut failures = Vec::new();
    for name in MODELS {
        let m = &fx["models"][name];
        let num = |k: &str| m[k].as_f64().expect(k);
        let r = validate(m["path"].as_str().expect("path"));
        let (ro, rf) = (r.rama_outlier_pct(), r.rama_favoured_pct());
        let rot = r.rotamer_no_arg_lys.outlier_pct();
        table += &format!(
            "{name:10} | {ro:6.2} / {:6.2}    | {rf:6.2} / {:6.2}    | {rot:6.2} / {:6.2} ({}/{})   | {:6.2} / {:6.2} ({}/{}, {}/{})\n",
            num("rama_outliers_pct"),
            num("rama_favored_pct"),
            num("rotamer_outliers_pct"),
            r.rotamer_no_arg_lys.n,
            num("rotamer_n"),
            r.clashscore,
            num("clashscore"),
            r.clashes.len(),
            num("probe_n_clashes"),
            r.n_atoms,
            num("probe_n_atoms"),
        );
        if (ro - num("rama_outliers_pct")).abs() > 0.5 {
            failures.push(format!("{name}: Rama outliers {ro:.2} vs {:.2}", num("rama_outliers_pct")));
        }
        if (rf - num("rama_favored_pct")).abs() > 0.5 {
            failures.push(format!("{name}: Rama favoured {rf:.2} vs {:.2}", num("rama_favored_pct")));
        }
        if (rot - num("rotamer_outliers_pct")).abs() > 1.0 {
            failures.push(format!("{name}: rotamer outliers {rot:.2} vs {:.2}", num("rotamer_outliers_pct")));
        }
        let want = num("clashscore");
        if (r.clashscore - want).abs() > (0.2 * want).max(2.0) {
            failures.push(format!("{name}: clashscore {:.2} vs {want:.2}", r.clashscore));
        }
        // Same residues evaluated as the referee (rotalyze counts each alternate conformation of
        // a side chain; the reader keeps the first, hence the small allowance).
        let close = |ours: usize, theirs: f64| (ours as f64 - theirs).abs() <= (0.002 * theirs).max(0.0);
        if !close(r.rama.n, num("rama_n")) || !close(r.rotamer_no_arg_lys.n, num("rotamer_n")) {
            failures.push(format!(
                "{name}: evaluated {} Rama / {} rotamer residues, referee {} / {}",
                r.rama.n,
                r.rotamer_no_arg_lys.n,
                num("rama_n"),
                num("rotamer_n")
            ));
        }
    }
    println!("{table}");
    assert!(failures.is_empty(), "{}\n{table}", failures.join("\n"));
}

#[test]
fn grid_interpolation_matches_cctbx_at_random_points() {
    let fx = fixture();
    let class = |s: &str| match s {
        "general" => RamaClass::General,
        "glycine" => RamaClass::Glycine,
        "cis-proline" => RamaClass::CisPro,
        "trans-proline" => RamaClass::TransPro,
        "pre-proline" => RamaClass::PrePro,
        _ => RamaClass::IleVal,
    };
    let mut worst: f64 = 0.0;
    for p in fx["spot_checks"]["rama"].as_array().expect("rama") {
        let c = class(p[0].as_str().expect("class"));
        let ours = rama_score(c, p[1].as_f64().expect("phi"), p[2].as_f64().expect("psi")).expect("score");
        worst = worst.max((ours - p[3].as_f64().expect("value")).abs());
    }
    // cctbx compiles the Ramachandran grids into C++ tables with slightly rounded values.
    assert!(worst < 1e-6, "Ramachandran: worst |diff| {worst}");
    let mut worst: f64 = 0.0;
    for p in fx["spot_checks"]["rota"].as_array().expect("rota") {
        let chis: Vec<f64> = p[1].as_array().expect("chis").iter().map(|v| v.as_f64().expect("chi")).collect();
        let ours = rotamer_score(p[0].as_str().expect("aa"), &chis).expect("score").expect("grid");
        // cctbx stores the rotamer tables as 32-bit floats.
        worst = worst.max((ours - p[2].as_f64().expect("value")).abs());
    }
    assert!(worst < 1e-6, "rotamers: worst |diff| {worst}");
}

/// A minimal residue with atoms at given positions.
fn residue_structure(resname: &str, atoms: &[(&str, Element, [f64; 3])]) -> Structure {
    let atoms: Vec<Atom> = atoms
        .iter()
        .map(|(n, e, p)| Atom {
            name: (*n).into(),
            element: *e,
            pos: *p,
            b: 20.0,
            occupancy: 1.0,
            hetero: false,
            residue: 0,
        })
        .collect();
    let n = atoms.len();
    Structure {
        atoms,
        residues: vec![Residue { name: resname.into(), seq: 10, icode: None, chain: 0, atoms: 0..n }],
        chains: vec![Chain { id: "A".into(), residues: 0..1 }],
        source: None,
        b_is_plddt: false,
    }
}

/// Build a poly-Ala chain with ideal-ish geometry and the given backbone dihedrals by NeRF.
fn poly_ala(phi_psi: &[(f64, f64)]) -> Structure {
    use cryosampler::metrics::geometry::hydrogens::place_dihedral;
    let mut atoms = Vec::new();
    let mut residues = Vec::new();
    let mut n = [0.0, 0.0, 0.0];
    let mut ca = [1.458, 0.0, 0.0];
    let mut c = place_dihedral([0.0, 1.0, 0.0], n, ca, 1.525, 111.2, 0.0);
    for (i, &(phi, psi)) in phi_psi.iter().enumerate() {
        if i > 0 {
            let prev_n = n;
            let prev_ca = ca;
            let prev_c = c;
            n = place_dihedral(prev_n, prev_ca, prev_c, 1.329, 116.2, phi_psi[i - 1].1);
            ca = place_dihedral(prev_ca, prev_c, n, 1.458, 121.7, 180.0);
            c = place_dihedral(prev_c, n, ca, 1.525, 111.2, phi);
        }
        let next_n_psi = psi;
        let o = place_dihedral(n, ca, c, 1.231, 120.8, next_n_psi + 180.0);
        let cb = place_dihedral(c, n, ca, 1.530, 110.5, -122.5);
        let a0 = atoms.len();
        for (name, e, p) in [
            ("N", Element::N, n),
            ("CA", Element::C, ca),
            ("C", Element::C, c),
            ("O", Element::O, o),
            ("CB", Element::C, cb),
        ] {
            atoms.push(Atom {
                name: name.into(),
                element: e,
                pos: p,
                b: 20.0,
                occupancy: 1.0,
                hetero: false,
                residue: i,
            });
        }
        residues.push(Residue {
            name: "ALA".into(),
            seq: i as isize + 1,
            icode: None,
            chain: 0,
            atoms: a0..atoms.len(),
        });
    }
    let nres = residues.len();
    Structure {
        atoms,
        residues,
        chains: vec![Chain { id: "A".into(), residues: 0..nres }],
        source: None,
        b_is_plddt: false,
    }
}

#[test]
fn ideal_alpha_helix_residue_is_favoured_general() {
    let s = poly_ala(&[(-57.0, -47.0); 6]);
    let (phi, psi) = phi_psi(&s, 2);
    let (phi, psi) = (phi.expect("phi"), psi.expect("psi"));
    assert!((phi + 57.0).abs() < 1e-6 && (psi + 47.0).abs() < 1e-6, "{phi} {psi}");
    assert_eq!(rama_class(&s, 2), Some(RamaClass::General));
    let sc = rama_score(RamaClass::General, phi, psi).expect("score");
    assert_eq!(rama_verdict(RamaClass::General, sc), Verdict::Favoured);
    // End residues have no phi (first) or psi (last) and are not counted.
    assert_eq!(phi_psi(&s, 0).0, None);
    assert_eq!(phi_psi(&s, 5).1, None);
    let r = validate_geometry(&s).expect("validate");
    assert_eq!(r.rama.n, 4);
    assert_eq!(r.rama.favoured, 4);
    // A helix of ideal poly-Ala has no clashes, and its bonds match Engh & Huber closely.
    assert_eq!(r.clashes.len(), 0, "{:?}", r.clashes);
    assert!(r.bond_rmsz < 0.5, "bond RMSZ {}", r.bond_rmsz);
}

#[test]
fn forbidden_phi_psi_is_an_outlier_and_a_chain_break_removes_phi() {
    // phi 100 / psi -60 is empty for general residues (cctbx score 1.8e-5).
    let mut s = poly_ala(&[(-60.0, -45.0), (100.0, -60.0), (-60.0, -45.0), (-60.0, -45.0)]);
    let (phi, psi) = phi_psi(&s, 1);
    assert!((phi.expect("phi") - 100.0).abs() < 1e-6 && (psi.expect("psi") + 60.0).abs() < 1e-6);
    let r = validate_geometry(&s).expect("validate");
    let row = r.residues.iter().find(|x| x.residue == 1).expect("row");
    assert_eq!(row.rama_class, Some(RamaClass::General));
    assert_eq!(row.rama_verdict, Some(Verdict::Outlier), "{:?}", row.rama_score);
    assert_eq!(r.rama.outliers, 1);
    // Pull residue 2 away: C(1)-N(2) > 2 A is a chain break, so residue 2 has no phi.
    let shift = 3.0;
    for a in s.residues[2].atoms.clone().chain(s.residues[3].atoms.clone()) {
        s.atoms[a].pos[2] += shift;
    }
    assert_eq!(phi_psi(&s, 2).0, None);
    assert_eq!(phi_psi(&s, 1).1, None);
}

#[test]
fn forbidden_general_region_scores_as_outlier() {
    // Empty for the general class (cctbx: 0, 1.8e-4, 1.6e-4); allowed, not favoured, at
    // phi 60 / psi -120 (cctbx 0.0093).
    let sc = rama_score(RamaClass::General, 60.0, -120.0).expect("score");
    assert_eq!(rama_verdict(RamaClass::General, sc), Verdict::Allowed, "{sc}");
    for (phi, psi) in [(0.0, 180.0), (-170.0, -30.0), (-20.0, 100.0)] {
        let sc = rama_score(RamaClass::General, phi, psi).expect("score");
        assert_eq!(rama_verdict(RamaClass::General, sc), Verdict::Outlier, "{phi} {psi} {sc}");
    }
}

#[test]
fn hand_placed_pair_half_an_angstrom_too_close_is_one_clash() {
    // Two methyl carbons of different ligands at 2.9 A (sum of radii 3.4 A).
    let mut s = residue_structure("LIG", &[("C1", Element::C, [0.0, 0.0, 0.0])]);
    s.atoms.push(Atom {
        name: "C1".into(),
        element: Element::C,
        pos: [2.9, 0.0, 0.0],
        b: 20.0,
        occupancy: 1.0,
        hetero: true,
        residue: 1,
    });
    s.residues.push(Residue { name: "LIG".into(), seq: 11, icode: None, chain: 0, atoms: 1..2 });
    s.chains[0].residues = 0..2;
    let m = ContactModel::new(&s, &[None, None]);
    let r = m.clashes();
    assert_eq!(r.clashes.len(), 1);
    assert!((r.clashes[0].overlap - 0.5).abs() < 0.02);
    assert!((r.clashscore - 500.0).abs() < 1e-9);
}

#[test]
fn chi_at_a_rotamer_centre_is_favoured() {
    // Build a Leu side chain at the "mt" centre from rota_central (chi1 -66, chi2 174).
    use cryosampler::metrics::geometry::hydrogens::place_dihedral;
    let mt = rota_central("LEU").expect("table").expect("leu").iter().find(|c| c.name == "mt").expect("mt");
    let n = [0.0, 0.0, 0.0];
    let ca = [1.458, 0.0, 0.0];
    let c = place_dihedral([0.0, 1.0, 0.0], n, ca, 1.525, 111.2, 0.0);
    let cb = place_dihedral(c, n, ca, 1.53, 110.5, -122.5);
    let cg = place_dihedral(n, ca, cb, 1.53, 116.3, mt.chi_mean[0]);
    let cd1 = place_dihedral(ca, cb, cg, 1.521, 110.7, mt.chi_mean[1]);
    let cd2 = place_dihedral(ca, cb, cg, 1.521, 110.7, mt.chi_mean[1] + 120.0);
    let s = residue_structure(
        "LEU",
        &[
            ("N", Element::N, n),
            ("CA", Element::C, ca),
            ("C", Element::C, c),
            ("CB", Element::C, cb),
            ("CG", Element::C, cg),
            ("CD1", Element::C, cd1),
            ("CD2", Element::C, cd2),
        ],
    );
    let chis = chi_angles(&s, 0).expect("chis");
    assert!((chis[0] - mt.chi_mean[0]).abs() < 1e-6 && (chis[1] - mt.chi_mean[1]).abs() < 1e-6);
    let sc = rotamer_score("LEU", &chis).expect("score").expect("grid");
    assert_eq!(rotamer_verdict(sc), Verdict::Favoured, "{sc}");
    // Arg / Lys: the approximate score of their most common rotamer centre is favoured too.
    for res in ["ARG", "LYS"] {
        let best = rota_central(res).expect("t").expect(res).iter().max_by_key(|c| c.count).expect("c");
        let sc = approx_rotamer_score(res, &best.chi_mean).expect("s").expect(res);
        assert_eq!(rotamer_verdict(sc), Verdict::Favoured, "{res} {} {sc}", best.name);
    }
}

#[test]
fn hydrogens_have_reduce_geometry_on_adk() {
    // Compare our riding hydrogens with reduce's on the AdK truth_0 model: every non-rotatable
    // hydrogen reduce adds should be within 0.1 A of one of ours with the same name.
    let s = read("adk_tmd/truth_0.pdb");
    let p = protonate(&s).expect("protonate");
    let hs = &p.structure;
    let n_h = hs.atoms.iter().filter(|a| a.element.is_hydrogen()).count();
    // reduce adds 1688 hydrogens to this model (3341 atoms in probe's count = 1653 heavy + 1688).
    assert!((n_h as i64 - 1688).abs() <= 20, "{n_h} hydrogens");
    for (i, a) in hs.atoms.iter().enumerate() {
        if let Some(par) = p.parent[i] {
            let d = distance(a.pos, hs.atoms[par].pos);
            assert!((0.83..=1.21).contains(&d), "{} {} X-H {d}", hs.residue_label(a.residue), a.name);
        }
    }
    // Methylene H-C-H angles are tetrahedral-ish.
    let r = (0..hs.residues.len()).find(|&r| hs.residues[r].name == "LYS").expect("lys");
    let (h2, h3, cb) =
        (hs.atom_in(r, "HB2").expect("HB2"), hs.atom_in(r, "HB3").expect("HB3"), hs.atom_in(r, "CB").expect("CB"));
    let a = angle(hs.atoms[h2].pos, hs.atoms[cb].pos, hs.atoms[h3].pos);
    assert!((a - 109.5).abs() < 3.0, "H-C-H {a}");
}

#[test]
fn report_csv_and_display() {
    let r = validate("adk_tmd/truth_0.pdb");
    let csv = r.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 214);
    assert!(lines[0].starts_with("chain,resseq,icode,resname,phi,psi"));
    let cols = lines[0].split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == cols));
    let shown = format!("{r}");
    assert!(shown.starts_with("<GeometryReport 214 res"), "{shown}");
}

#[test]
fn scales_to_a_cryo_em_sized_model() {
    let t = std::time::Instant::now();
    let s = read("pdb/7cth.cif");
    let read_s = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let r = validate_geometry(&s).expect("validate");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "7cth: {} atoms read in {read_s:.2} s; {r}; validated in {secs:.2} s ({} atoms with H)",
        s.len(),
        r.n_atoms
    );
    assert!(r.n_atoms > 30_000, "{}", r.n_atoms);
    assert!(r.rama.n > 2000);
    assert!(r.clashscore.is_finite());
}

#[test]
fn approximate_rotamer_score_tracks_the_grids_on_real_residues() {
    // The Arg / Lys approximation (rota_central mixture) applied to residue types that also have a
    // rota8000 grid: over the test models it flags about as many outliers as the grids do.
    use cryosampler::metrics::geometry::rama::standard_name;
    let (mut grid_out, mut approx_out, mut both, mut n) = (0, 0, 0, 0);
    for rel in ["adk_tmd/truth_0.pdb", "adk_tmd/truth_3.pdb", "pdb/1ake.pdb", "pdb/3o21.cif", "pdb/7cth.cif"] {
        let s = read(rel);
        for r in 0..s.residues.len() {
            let (Some(name), Some(chis)) = (standard_name(&s.residues[r].name), chi_angles(&s, r)) else { continue };
            let (Some(g), Some(a)) =
                (rotamer_score(name, &chis).expect("grid"), approx_rotamer_score(name, &chis).expect("mixture"))
            else {
                continue;
            };
            let (go, ao) = (rotamer_verdict(g) == Verdict::Outlier, rotamer_verdict(a) == Verdict::Outlier);
            n += 1;
            grid_out += usize::from(go);
            approx_out += usize::from(ao);
            both += usize::from(go && ao);
        }
    }
    println!("{n} residues: grid outliers {grid_out}, mixture outliers {approx_out}, both {both}");
    assert!(n > 3000);
    assert!(approx_out * 2 > grid_out && approx_out < grid_out * 3 / 2, "{approx_out} vs {grid_out}");
    assert!(both * 2 > grid_out, "only {both} of {grid_out} grid outliers also flagged");
}
