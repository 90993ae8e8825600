//! HTML output for evcxr: the [`Html`] value, [`emit_html`] and a small [`Table`] builder.
//!
//! evcxr shows rich output when a cell prints a block
//!
//! ```text
//! EVCXR_BEGIN_CONTENT text/html
//! ...html...
//! EVCXR_END_CONTENT
//! ```
//!
//! and keeps only the *last* block of each MIME type per cell, so a cell that shows several plots
//! must put them into one block ([`Html::row`], [`Html::join`]). [`emit_html`] writes the whole
//! block in a single locked write, so output from other threads cannot land in the middle of it.
//!
//! ```
//! use cryosampler::viz::{Html, Table};
//! let t = Table::new(["state", "CC"]).caption("fit").row(["open <A>", "0.81"]).row(["closed", "0.79"]);
//! let html: Html = t.to_html();
//! assert!(html.as_str().contains("open &lt;A&gt;"));
//! ```

use std::fmt::Display;
use std::io::Write;

/// Escape text for HTML element content and attribute values (`& < > " '`).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The text of one evcxr `text/html` block for `html`, ending in a newline.
///
/// evcxr ends a block at a line that is exactly `EVCXR_END_CONTENT` and reacts to a few other
/// `EVCXR_...` marker lines; a line of `html` that starts with `EVCXR_` gets a leading space
/// (harmless in HTML) so the content cannot end the block early.
pub fn html_block(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    out.push_str("EVCXR_BEGIN_CONTENT text/html\n");
    for (i, line) in html.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if line.starts_with("EVCXR_") {
            out.push(' ');
        }
        out.push_str(line);
    }
    out.push_str("\nEVCXR_END_CONTENT\n");
    out
}

/// Write one evcxr `text/html` block to `out` in a single `write_all`, then flush.
pub fn write_html_block(out: &mut impl Write, html: &str) -> std::io::Result<()> {
    out.write_all(html_block(html).as_bytes())?;
    out.flush()
}

/// Print exactly one evcxr `text/html` block holding `html` to stdout, in a single write.
///
/// Outside a notebook this just prints the markers and the HTML. Errors writing to stdout are
/// ignored (there is nowhere to report them).
pub fn emit_html(html: &str) {
    let stdout = std::io::stdout();
    let mut lock = stdout.lock();
    let _ = write_html_block(&mut lock, html);
}

/// A piece of HTML that displays itself in a notebook.
///
/// Plot and table helpers return `Html` (or a value with a `to_html()`), never print. Combine
/// several into one cell output with [`Html::row`] (side by side, wrapping) or [`Html::join`]
/// (stacked).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Html(pub String);

impl Html {
    /// Wrap trusted HTML text (it is not escaped).
    pub fn new(html: impl Into<String>) -> Html {
        Html(html.into())
    }

    /// Escaped plain text in a `<pre>` block.
    pub fn text(text: &str) -> Html {
        Html(format!("<pre>{}</pre>", escape(text)))
    }

    /// A heading (`level` 1..=6, clamped) with escaped text.
    pub fn heading(level: u8, text: &str) -> Html {
        let l = level.clamp(1, 6);
        Html(format!("<h{l}>{}</h{l}>", escape(text)))
    }

    /// The HTML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The HTML text, by value.
    pub fn into_string(self) -> String {
        self.0
    }

    /// Several pieces stacked vertically, in one value (one cell output).
    pub fn join(parts: impl IntoIterator<Item = Html>) -> Html {
        let mut out = String::from("<div class=\"cryosampler-stack\">");
        for p in parts {
            out.push_str("<div>");
            out.push_str(&p.0);
            out.push_str("</div>");
        }
        out.push_str("</div>");
        Html(out)
    }

    /// Several pieces side by side (wrapping onto new lines when the page is narrow).
    pub fn row(parts: impl IntoIterator<Item = Html>) -> Html {
        Html::flex("cryosampler-row", "", parts)
    }

    /// Several pieces side by side in columns of equal width that fill the output (wrapping below
    /// 360 px each): for viewers, which take the width of what holds them, e.g. two models next to
    /// each other.
    pub fn columns(parts: impl IntoIterator<Item = Html>) -> Html {
        Html::flex("cryosampler-columns", " style=\"flex:1 1 360px;min-width:0\"", parts)
    }

    /// A wrapping flex container of class `class`, one `<div{item_attrs}>` per part.
    fn flex(class: &str, item_attrs: &str, parts: impl IntoIterator<Item = Html>) -> Html {
        let mut out =
            format!("<div class=\"{class}\" style=\"display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start\">");
        for p in parts {
            out.push_str(&format!("<div{item_attrs}>"));
            out.push_str(&p.0);
            out.push_str("</div>");
        }
        out.push_str("</div>");
        Html(out)
    }

    /// Append another piece after this one.
    pub fn push(&mut self, other: Html) {
        self.0.push_str(&other.0);
    }

    /// A short error message, shown in red where a plot or table could not be made.
    pub fn error_note(message: &str) -> Html {
        Html(format!("<pre style=\"color:#b00;font-size:12px;white-space:pre-wrap\">{}</pre>", escape(message)))
    }

    /// Show in a notebook cell: one `text/html` block (see [`emit_html`]).
    pub fn evcxr_display(&self) {
        emit_html(&self.0);
    }
}

/// Show `html` in a notebook cell, or the error in its place when it could not be built.
pub(crate) fn display_or_error(html: crate::Result<Html>) {
    match html {
        Ok(h) => h.evcxr_display(),
        Err(e) => Html::error_note(&e.to_string()).evcxr_display(),
    }
}

impl Display for Html {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Html {
    fn from(s: String) -> Html {
        Html(s)
    }
}

/// A small HTML table: a header row, body rows of escaped text, an optional caption.
///
/// Cells take anything that implements `Display`; numbers are right-aligned when every body cell
/// of their column parses as a number. Rows shorter than the header are padded with empty cells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    caption: Option<String>,
}

impl Table {
    /// A table with these column names.
    pub fn new<S: Display>(header: impl IntoIterator<Item = S>) -> Table {
        Table { header: header.into_iter().map(|h| h.to_string()).collect(), rows: Vec::new(), caption: None }
    }

    /// Add a row.
    pub fn row<S: Display>(mut self, cells: impl IntoIterator<Item = S>) -> Table {
        self.push_row(cells);
        self
    }

    /// Add a row in place (for loops).
    pub fn push_row<S: Display>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(|c| c.to_string()).collect());
    }

    /// Set a caption shown above the table.
    pub fn caption(mut self, caption: impl Into<String>) -> Table {
        self.caption = Some(caption.into());
        self
    }

    /// Number of body rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no body rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as HTML.
    pub fn to_html(&self) -> Html {
        let ncol = self.rows.iter().map(Vec::len).chain([self.header.len()]).max().unwrap_or(0);
        let numeric: Vec<bool> = (0..ncol)
            .map(|c| {
                let mut any = false;
                for r in &self.rows {
                    match r.get(c) {
                        Some(v) if v.trim().parse::<f64>().is_ok() => any = true,
                        Some(v) if !v.trim().is_empty() => return false,
                        _ => {}
                    }
                }
                any
            })
            .collect();
        let mut h = String::from(
            "<table class=\"cryosampler-table\" style=\"border-collapse:collapse;font-family:sans-serif;font-size:13px\">",
        );
        if let Some(c) = &self.caption {
            h.push_str(&format!("<caption style=\"text-align:left;font-weight:bold\">{}</caption>", escape(c)));
        }
        if !self.header.is_empty() {
            h.push_str("<thead><tr>");
            for (c, num) in numeric.iter().enumerate() {
                let name = self.header.get(c).map(String::as_str).unwrap_or("");
                let align = if *num { "right" } else { "left" };
                h.push_str(&format!(
                    "<th style=\"border-bottom:1px solid #444;padding:2px 8px;text-align:{align}\">{}</th>",
                    escape(name)
                ));
            }
            h.push_str("</tr></thead>");
        }
        h.push_str("<tbody>");
        for r in &self.rows {
            h.push_str("<tr>");
            for (c, num) in numeric.iter().enumerate() {
                let v = r.get(c).map(String::as_str).unwrap_or("");
                let align = if *num { "right" } else { "left" };
                h.push_str(&format!("<td style=\"padding:2px 8px;text-align:{align}\">{}</td>", escape(v)));
            }
            h.push_str("</tr>");
        }
        h.push_str("</tbody></table>");
        Html(h)
    }

    /// Show in a notebook cell.
    pub fn evcxr_display(&self) {
        self.to_html().evcxr_display();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_html_specials() {
        assert_eq!(escape(r#"a<b & "c" 'd'>"#), "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
        assert_eq!(escape("Å 2.5 Å"), "Å 2.5 Å");
        // escaping twice escapes the ampersands again (no silent "already escaped" guess)
        assert_eq!(escape("&lt;"), "&amp;lt;");
    }

    #[test]
    fn one_block_with_markers_on_their_own_lines() -> std::io::Result<()> {
        let mut buf = Vec::new();
        write_html_block(&mut buf, "<b>x</b>\n<i>y</i>")?;
        let text = String::from_utf8_lossy(&buf);
        assert_eq!(text, "EVCXR_BEGIN_CONTENT text/html\n<b>x</b>\n<i>y</i>\nEVCXR_END_CONTENT\n");
        assert_eq!(text.matches("EVCXR_BEGIN_CONTENT").count(), 1);
        assert_eq!(text.matches("EVCXR_END_CONTENT").count(), 1);
        Ok(())
    }

    #[test]
    fn content_cannot_close_the_block_early() {
        let block = html_block("a\nEVCXR_END_CONTENT\nb");
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines, ["EVCXR_BEGIN_CONTENT text/html", "a", " EVCXR_END_CONTENT", "b", "EVCXR_END_CONTENT"]);
    }

    #[test]
    fn row_and_join_make_one_value_holding_all_parts() {
        let r = Html::row([Html::new("<svg id=\"a\"></svg>"), Html::new("<svg id=\"b\"></svg>")]);
        let j = Html::join([Html::heading(2, "T<1>"), r]);
        let block = html_block(j.as_str());
        assert_eq!(block.matches("EVCXR_BEGIN_CONTENT").count(), 1);
        assert!(block.contains("<svg id=\"a\">") && block.contains("<svg id=\"b\">"));
        assert!(block.contains("<h2>T&lt;1&gt;</h2>"));
    }

    #[test]
    fn columns_share_the_width() {
        let c = Html::columns([Html::new("<p>a</p>"), Html::new("<p>b</p>")]).into_string();
        assert_eq!(c.matches("flex:1 1 360px").count(), 2);
        assert!(
            c.starts_with("<div class=\"cryosampler-columns\"") && c.contains("<p>a</p>") && c.contains("<p>b</p>")
        );
    }

    #[test]
    fn table_escapes_cells_pads_rows_and_aligns_numbers() {
        let t = Table::new(["name", "value"]).row(["<script>", "1.5"]).row(["b"]).caption("a & b");
        let h = t.to_html().into_string();
        assert!(h.contains("<td style=\"padding:2px 8px;text-align:left\">&lt;script&gt;</td>"));
        assert!(!h.contains("<script>"));
        assert!(h.contains("<caption style=\"text-align:left;font-weight:bold\">a &amp; b</caption>"));
        // the short row is padded: 2 rows x 2 columns = 4 cells
        assert_eq!(h.matches("<td").count(), 4);
        // column 2 holds "1.5" and an empty pad: numeric, right-aligned
        assert!(h.contains("text-align:right\">1.5</td>"));
        assert_eq!(h.matches("<tr>").count(), 3);
    }
}
