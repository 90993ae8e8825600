//! Chemical elements: electron counts for the forward model and radii for masks and clashes.

use serde::{Deserialize, Serialize};

/// A chemical element, stored by atomic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Element(pub u8);

impl Element {
    /// Hydrogen.
    pub const H: Element = Element(1);
    /// Carbon.
    pub const C: Element = Element(6);
    /// Nitrogen.
    pub const N: Element = Element(7);
    /// Oxygen.
    pub const O: Element = Element(8);
    /// Phosphorus.
    pub const P: Element = Element(15);
    /// Sulfur.
    pub const S: Element = Element(16);
    /// Selenium.
    pub const SE: Element = Element(34);

    /// Element from its symbol (case-insensitive), e.g. `"C"`, `"Se"`.
    pub fn from_symbol(symbol: &str) -> Option<Element> {
        pdbtbx::Element::from_symbol(symbol.trim()).map(|e| Element(e.atomic_number() as u8))
    }

    /// Guess the element from a PDB atom name when the element column is empty
    /// (`" CA "` is carbon, `"FE  "` iron; the PDB convention right-justifies one-letter symbols).
    pub fn guess_from_atom_name(name: &str) -> Option<Element> {
        let t: String = name.chars().filter(|c| c.is_ascii_alphabetic()).collect();
        let first = t.chars().next()?;
        Element::from_symbol(&first.to_string())
    }

    /// Atomic number Z.
    pub fn atomic_number(self) -> u8 {
        self.0
    }

    /// Symbol, e.g. `"C"`.
    pub fn symbol(self) -> &'static str {
        pdbtbx::Element::new(self.0 as usize).map(|e| e.symbol()).unwrap_or("X")
    }

    /// Electron count of the neutral atom (= Z): the amplitude of the atom's Gaussian in the
    /// forward model (H 1, C 6, N 7, O 8, P 15, S 16).
    pub fn electrons(self) -> f32 {
        self.0 as f32
    }

    /// Van der Waals radius (A) used for the map-model mask, as cctbx's mask code uses
    /// (C 1.775, N 1.6, O 1.5, S 1.8, P 1.8, Se 1.9, H 1.2; others 1.775).
    pub fn mask_radius(self) -> f64 {
        match self.0 {
            1 => 1.2,
            6 => 1.775,
            7 => 1.6,
            8 => 1.5,
            15 | 16 => 1.8,
            34 => 1.9,
            _ => 1.775,
        }
    }

    /// Whether this is hydrogen (or deuterium, stored as H).
    pub fn is_hydrogen(self) -> bool {
        self.0 == 1
    }
}

impl std::fmt::Display for Element {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.symbol())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_and_electrons() {
        assert_eq!(Element::from_symbol("C"), Some(Element::C));
        assert_eq!(Element::from_symbol("se"), Some(Element::SE));
        assert_eq!(Element::S.electrons(), 16.0);
        assert_eq!(Element::P.symbol(), "P");
        assert_eq!(Element::guess_from_atom_name(" CA "), Some(Element::C));
        assert_eq!(Element::from_symbol("Xx"), None);
    }
}
