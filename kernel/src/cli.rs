//! A tiny argument parser: `--flag`, `--option VALUE` / `--option=VALUE`, positionals, and
//! everything after `--` passed through untouched.

use std::collections::HashMap;

use anyhow::{Result, bail};

/// Parsed arguments of one command.
#[derive(Debug, Default, PartialEq)]
pub struct Args {
    /// `--option value` pairs.
    pub options: HashMap<String, String>,
    /// `--flag`s that were given.
    pub flags: Vec<String>,
    /// Other arguments, in order.
    pub positional: Vec<String>,
    /// Everything after a bare `--`.
    pub rest: Vec<String>,
}

impl Args {
    /// Parse `argv` accepting the listed options (which take a value) and flags.
    pub fn parse(argv: &[String], options: &[&str], flags: &[&str]) -> Result<Args> {
        let mut out = Args::default();
        let mut it = argv.iter();
        while let Some(a) = it.next() {
            if a == "--" {
                out.rest = it.cloned().collect();
                break;
            }
            if let Some((name, value)) = a.split_once('=').filter(|(n, _)| n.starts_with("--")) {
                if !options.contains(&name) {
                    bail!("unknown option `{name}`");
                }
                out.options.insert(name.to_string(), value.to_string());
            } else if options.contains(&a.as_str()) {
                let Some(v) = it.next() else { bail!("option `{a}` needs a value") };
                out.options.insert(a.clone(), v.clone());
            } else if flags.contains(&a.as_str()) {
                out.flags.push(a.clone());
            } else if a.starts_with("--") {
                bail!("unknown option `{a}` (see --help)");
            } else {
                out.positional.push(a.clone());
            }
        }
        Ok(out)
    }

    /// The value of an option.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// Whether a flag was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn options_flags_positionals_and_rest() -> Result<()> {
        let a = Args::parse(
            &v(&["--repo", "/r", "--user", "nb.ipynb", "--venv=/v", "--", "--control_file", "x"]),
            &["--repo", "--venv"],
            &["--user"],
        )?;
        assert_eq!(a.get("--repo"), Some("/r"));
        assert_eq!(a.get("--venv"), Some("/v"));
        assert!(a.flag("--user") && !a.flag("--purge"));
        assert_eq!(a.positional, v(&["nb.ipynb"]));
        assert_eq!(a.rest, v(&["--control_file", "x"]));
        Ok(())
    }

    #[test]
    fn unknown_options_and_missing_values_are_errors() {
        assert!(Args::parse(&v(&["--nope"]), &[], &[]).is_err());
        assert!(Args::parse(&v(&["--repo"]), &["--repo"], &[]).is_err());
        assert!(Args::parse(&v(&["--nope=1"]), &["--repo"], &[]).is_err());
    }
}
