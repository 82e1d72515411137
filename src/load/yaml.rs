//! A YAML loader that keeps positions and refuses hostile input.
//!
//! `serde_norway` (and every `serde_yaml` fork) deserializes straight into types and forgets where
//! each value came from. levee's errors must name the line and column of every problem, including
//! problems found after parsing (a bad e-mail, an expiry before the creation date), so the loader
//! here reads the parser's events, builds a `serde_json::Value`, and keeps a map from each value's
//! JSON pointer to its position. It also enforces the limits that make hostile input harmless:
//! size, nesting depth, alias expansion (the "billion laughs" bomb), one document per file, no
//! duplicate keys.
//!
//! Scalars resolve by the YAML 1.2 core schema, so `no` stays a string and `2026-04-01` is a
//! string that the manifest later parses as a date.

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The largest file levee reads as YAML. Manifests are a few kilobytes.
pub const MAX_BYTES: u64 = 1024 * 1024;
/// The deepest nesting accepted.
const MAX_DEPTH: usize = 64;
/// The most nodes a document may expand to once aliases are resolved.
const MAX_NODES: usize = 100_000;

/// A position in a source file: 1-based line and column, 0-based byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub offset: usize,
    /// Width of the token in characters, for the caret.
    pub len: usize,
}

/// Where a value sits: the key that names it (absent for the root and list items) and the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub key: Option<Pos>,
    pub value: Pos,
}

/// Positions of every value of a document, by JSON pointer (`/runtime/cpu_limit`, `/secrets/0`).
#[derive(Debug, Clone, Default)]
pub struct Spans(HashMap<String, Span>);

impl Spans {
    /// The span of the value at `pointer`, or of its nearest ancestor that has one.
    pub fn find(&self, pointer: &str) -> Option<(String, Span)> {
        let mut p = pointer.to_string();
        loop {
            if let Some(s) = self.0.get(&p) {
                return Some((p, *s));
            }
            match p.rfind('/') {
                Some(i) => p.truncate(i),
                None => return None,
            }
        }
    }

    /// The position to point at for a problem with the value at `pointer`.
    pub(crate) fn value_pos(&self, pointer: &str) -> Option<Pos> {
        self.find(pointer).map(|(_, s)| s.value)
    }

    /// The position of the key naming `pointer` (falls back to the value).
    pub(crate) fn key_pos(&self, pointer: &str) -> Option<Pos> {
        self.find(pointer).map(|(_, s)| s.key.unwrap_or(s.value))
    }
}

/// A parsed document.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    pub spans: Spans,
    /// Scalars that YAML 1.1 tools read differently from levee (see [`yaml11_reading`]).
    pub yaml11: Vec<Yaml11Scalar>,
}

/// A scalar of the document that YAML 1.1 tools read differently from levee.
#[derive(Debug, Clone, PartialEq)]
pub struct Yaml11Scalar {
    /// The value's JSON pointer.
    pub pointer: String,
    /// The scalar as written.
    pub text: String,
    /// What YAML 1.1 tools read.
    pub reading: Yaml11,
}

/// What a YAML 1.1 reader makes of a plain scalar levee reads otherwise.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml11 {
    /// A value JSON can hold (`no` -> `false`, `012` -> `10`, `1_000` -> `1000`).
    Value(Value),
    /// `.nan` or an infinity.
    NotFinite,
}

/// Why a file could not be read as YAML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl YamlError {
    fn new(pos: Pos, message: impl Into<String>, hint: Option<&str>) -> Self {
        YamlError {
            pos,
            message: message.into(),
            hint: hint.map(str::to_string),
        }
    }
}

/// The UTF-8 byte order mark some editors (Windows Notepad) write first.
pub const BOM: &str = "\u{feff}";

/// Turns raw bytes into text, with a located error for bytes that are not UTF-8. A leading
/// byte order mark is not part of the text (it would otherwise be read into the first key).
pub(crate) fn decode(bytes: &[u8]) -> Result<&str, YamlError> {
    let bytes = bytes.strip_prefix(BOM.as_bytes()).unwrap_or(bytes);
    if bytes.len() as u64 > MAX_BYTES {
        return Err(YamlError::new(
            Pos::default(),
            format!(
                "the file is {} bytes; levee reads YAML files of at most {} bytes",
                bytes.len(),
                MAX_BYTES
            ),
            Some("a manifest is a few kilobytes: check that this is the file you meant"),
        ));
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        // The valid prefix is UTF-8 by construction.
        let text = std::str::from_utf8(good).unwrap_or_default();
        let line = text.matches('\n').count() + 1;
        let col = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        YamlError::new(
            Pos {
                line,
                col,
                offset: e.valid_up_to(),
                len: 1,
            },
            format!(
                "the file is not UTF-8 text (invalid byte 0x{:02x})",
                bytes[e.valid_up_to()]
            ),
            Some("save the file as UTF-8"),
        )
    })
}

/// Parses one YAML document from `text`.
pub fn parse(text: &str) -> Result<Document, YamlError> {
    if text.len() as u64 > MAX_BYTES {
        return decode(text.as_bytes()).map(|_| unreachable_doc());
    }
    let mut builder = Builder::new(text);
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, true) {
        let m = e.marker();
        let pos = builder.pos(m, 1);
        let info = e.info();
        let hint = if info.contains("tab") {
            Some("indent with spaces; YAML does not allow tabs for indentation")
        } else {
            Some("check the indentation and the quoting around this position")
        };
        return Err(YamlError::new(
            pos,
            format!("this is not valid YAML: {info}"),
            hint,
        ));
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    let Some(root) = builder.root else {
        return Err(YamlError::new(
            Pos {
                line: 1,
                col: 1,
                offset: 0,
                len: 1,
            },
            "the file is empty",
            Some("a manifest is a YAML mapping; start from `levee new` or the README's example"),
        ));
    };
    let mut out = Converter {
        nodes: &builder.nodes,
        spans: Spans::default(),
        budget: MAX_NODES,
        yaml11: Vec::new(),
    };
    let value = out.convert(root, String::new(), None, 0)?;
    Ok(Document {
        value,
        spans: out.spans,
        yaml11: out.yaml11,
    })
}

fn unreachable_doc() -> Document {
    Document {
        value: Value::Null,
        spans: Spans::default(),
        yaml11: Vec::new(),
    }
}

#[derive(Debug)]
enum NodeKind {
    Scalar(String, TScalarStyle, Option<Tag>),
    Seq(Vec<usize>),
    Map(Vec<(usize, usize)>),
    Alias(usize),
}

#[derive(Debug)]
struct Node {
    kind: NodeKind,
    pos: Pos,
}

/// Collects parser events into a node arena. Aliases stay references until conversion, where a
/// budget bounds their expansion.
struct Builder<'a> {
    text: &'a str,
    /// Byte offset of each line start, to turn the parser's markers into byte offsets.
    line_starts: Vec<usize>,
    nodes: Vec<Node>,
    anchors: HashMap<usize, usize>,
    /// Open collections: node index and, for mappings, a pending key.
    stack: Vec<(usize, Option<usize>)>,
    root: Option<usize>,
    documents: usize,
    error: Option<YamlError>,
}

impl<'a> Builder<'a> {
    fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Builder {
            text,
            line_starts,
            nodes: Vec::new(),
            anchors: HashMap::new(),
            stack: Vec::new(),
            root: None,
            documents: 0,
            error: None,
        }
    }

    /// Converts a parser marker into a position with a byte offset.
    fn pos(&self, m: &Marker, len: usize) -> Pos {
        let line = m.line().max(1);
        let col = m.col() + 1;
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let line_text = &self.text[start..];
        let offset = start
            + line_text
                .char_indices()
                .nth(col - 1)
                .map_or(line_text.len(), |(i, _)| i);
        Pos {
            line,
            col,
            offset,
            len: len.max(1),
        }
    }

    fn fail(&mut self, pos: Pos, message: impl Into<String>, hint: Option<&str>) {
        if self.error.is_none() {
            self.error = Some(YamlError::new(pos, message, hint));
        }
    }

    fn push(&mut self, node: Node, anchor: usize) -> usize {
        let id = self.nodes.len();
        self.nodes.push(node);
        if anchor > 0 {
            self.anchors.insert(anchor, id);
        }
        id
    }

    /// Attaches a finished node to its parent (or makes it the root).
    fn attach(&mut self, id: usize) {
        let Some((parent, pending)) = self.stack.last().copied() else {
            self.root = Some(id);
            return;
        };
        let mut duplicate = None;
        match &mut self.nodes[parent].kind {
            NodeKind::Seq(items) => items.push(id),
            NodeKind::Map(entries) => match pending {
                None => {
                    if let Some(last) = self.stack.last_mut() {
                        last.1 = Some(id);
                    }
                }
                Some(key) => {
                    entries.push((key, id));
                    if let Some(last) = self.stack.last_mut() {
                        last.1 = None;
                    }
                    let name = scalar_text(&self.nodes, key);
                    if let Some(name) = name {
                        let seen = self.nodes_with_key(parent, &name);
                        if seen > 1 {
                            duplicate = Some((key, name));
                        }
                    }
                }
            },
            NodeKind::Scalar(..) | NodeKind::Alias(_) => {}
        }
        if let Some((key, name)) = duplicate {
            let pos = self.nodes[key].pos;
            self.fail(
                pos,
                format!("the key `{name}` appears twice in the same mapping"),
                Some("keep one of them; YAML readers disagree on which one wins"),
            );
        }
    }

    fn nodes_with_key(&self, map: usize, name: &str) -> usize {
        match &self.nodes[map].kind {
            NodeKind::Map(entries) => entries
                .iter()
                .filter(|(k, _)| scalar_text(&self.nodes, *k).as_deref() == Some(name))
                .count(),
            _ => 0,
        }
    }
}

fn scalar_text(nodes: &[Node], id: usize) -> Option<String> {
    match &nodes[id].kind {
        NodeKind::Scalar(s, ..) => Some(s.clone()),
        _ => None,
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    let pos = self.pos(&mark, 3);
                    self.fail(
                        pos,
                        "the file holds more than one YAML document",
                        Some("keep one document per file: remove the `---` line and what follows, or split it into its own file"),
                    );
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let len = match style {
                    TScalarStyle::Plain => value.chars().count(),
                    TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
                        value.chars().count() + 2
                    }
                    _ => 1,
                };
                let pos = self.pos(&mark, len);
                let id = self.push(
                    Node {
                        kind: NodeKind::Scalar(value, style, tag),
                        pos,
                    },
                    anchor,
                );
                self.attach(id);
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let pos = self.pos(&mark, 1);
                if self.stack.len() >= MAX_DEPTH {
                    self.fail(
                        pos,
                        format!("the document nests deeper than {MAX_DEPTH} levels"),
                        Some("a manifest is a few levels deep; flatten this structure"),
                    );
                    return;
                }
                if let Some(t) = tag.as_ref().filter(|t| !core_tag(t, &["map", "seq"])) {
                    self.fail(
                        pos,
                        format!("the YAML tag `{}{}` is not supported", t.handle, t.suffix),
                        Some("remove the tag"),
                    );
                    return;
                }
                let kind = if matches!(ev, Event::SequenceStart(..)) {
                    NodeKind::Seq(Vec::new())
                } else {
                    NodeKind::Map(Vec::new())
                };
                let id = self.push(Node { kind, pos }, anchor);
                self.stack.push((id, None));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((id, _)) = self.stack.pop() {
                    self.attach(id);
                }
            }
            Event::Alias(anchor) => {
                let pos = self.pos(&mark, 1);
                match self.anchors.get(&anchor).copied() {
                    Some(target) => {
                        let id = self.push(
                            Node {
                                kind: NodeKind::Alias(target),
                                pos,
                            },
                            0,
                        );
                        self.attach(id);
                    }
                    None => self.fail(pos, "this alias names no anchor", None),
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

fn core_tag(tag: &Tag, allowed: &[&str]) -> bool {
    (tag.handle == "!!" || tag.handle == "tag:yaml.org,2002:") && allowed.contains(&&*tag.suffix)
}

struct Converter<'n> {
    nodes: &'n [Node],
    spans: Spans,
    budget: usize,
    yaml11: Vec<Yaml11Scalar>,
}

impl Converter<'_> {
    fn convert(
        &mut self,
        id: usize,
        pointer: String,
        key: Option<Pos>,
        depth: usize,
    ) -> Result<Value, YamlError> {
        let node = &self.nodes[id];
        if self.budget == 0 {
            return Err(YamlError::new(
                node.pos,
                format!("the document expands to more than {MAX_NODES} values"),
                Some(
                    "YAML aliases (`*name`) that repeat large anchors are refused: write the values out",
                ),
            ));
        }
        if depth > MAX_DEPTH {
            return Err(YamlError::new(
                node.pos,
                format!("the document nests deeper than {MAX_DEPTH} levels"),
                Some(
                    "an alias that refers to itself or a very deep structure cannot be a manifest",
                ),
            ));
        }
        self.budget -= 1;
        self.spans.0.entry(pointer.clone()).or_insert(Span {
            key,
            value: node.pos,
        });
        Ok(match &node.kind {
            NodeKind::Alias(target) => return self.convert(*target, pointer, key, depth + 1),
            NodeKind::Scalar(s, style, tag) => {
                let value = resolve_scalar(s, *style, tag.as_ref(), node.pos)?;
                let implicit = *style == TScalarStyle::Plain && tag.is_none();
                let typed = tag.as_ref().is_some_and(|t| t.suffix != "str");
                if (implicit || typed)
                    && let Some(reading) = yaml11_reading(s, &value)
                {
                    self.yaml11.push(Yaml11Scalar {
                        pointer,
                        text: s.clone(),
                        reading,
                    });
                }
                value
            }
            NodeKind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    out.push(self.convert(*item, format!("{pointer}/{i}"), None, depth + 1)?);
                }
                Value::Array(out)
            }
            NodeKind::Map(entries) => {
                let mut out = Map::new();
                for (k, v) in entries {
                    let knode = &self.nodes[*k];
                    let name = match &knode.kind {
                        NodeKind::Scalar(s, ..) => s.clone(),
                        _ => {
                            return Err(YamlError::new(
                                knode.pos,
                                "a mapping key must be plain text",
                                Some("use a simple `key: value` form"),
                            ));
                        }
                    };
                    let child = format!("{pointer}/{}", crate::load::field_path::escape(&name));
                    let value = self.convert(*v, child, Some(knode.pos), depth + 1)?;
                    out.insert(name, value);
                }
                Value::Object(out)
            }
        })
    }
}

/// Resolves a scalar by the YAML 1.2 core schema.
fn resolve_scalar(
    s: &str,
    style: TScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
) -> Result<Value, YamlError> {
    if let Some(t) = tag {
        if !core_tag(t, &["str", "int", "float", "bool", "null"]) {
            return Err(YamlError::new(
                pos,
                format!("the YAML tag `{}{}` is not supported", t.handle, t.suffix),
                Some("remove the tag"),
            ));
        }
        if t.suffix == "str" {
            return Ok(Value::String(s.to_string()));
        }
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(s.to_string()));
    }
    Ok(match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "-.inf" | ".nan" | ".NaN" | ".NAN" => {
            return Err(YamlError::new(
                pos,
                format!("`{s}` is not a number levee can use"),
                Some("write a finite number"),
            ));
        }
        _ => number(s).unwrap_or_else(|| Value::String(s.to_string())),
    })
}

fn number(s: &str) -> Option<Value> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() {
        return None;
    }
    if let Some(hex) = s.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(Value::from);
    }
    if let Some(oct) = s.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(Value::from);
    }
    if digits.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse::<i64>().ok().map(Value::from).or_else(|| {
            s.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
        });
    }
    let float_like = digits
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|b| b.is_ascii_digit())
        && !digits.starts_with(['e', 'E']);
    if float_like {
        return s
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number);
    }
    None
}

/// `text` with every plain scalar that YAML 1.1 readers take for something else (see
/// [`yaml11_reading`]) single-quoted, so that levee's own YAML output means one thing to every
/// reader (serializers quote `true` and `012`, but leave `no`, `y` and `1_000` plain). Text that
/// does not parse is returned as it is.
pub(crate) fn quote_yaml11_scalars(text: &str) -> String {
    let Ok(doc) = parse(text) else {
        return text.to_string();
    };
    let mut starts: Vec<(usize, &str)> = doc
        .yaml11
        .iter()
        .filter_map(|s| Some((doc.spans.value_pos(&s.pointer)?.offset, s.text.as_str())))
        .filter(|(offset, scalar)| text[*offset..].starts_with(scalar))
        .collect();
    starts.sort();
    starts.dedup();
    let mut out = text.to_string();
    for (offset, scalar) in starts.into_iter().rev() {
        out.replace_range(offset..offset + scalar.len(), &format!("'{scalar}'"));
    }
    out
}

/// What go-yaml v2 reads a plain scalar as, when that differs from levee's YAML 1.2 reading
/// `ours`. go-yaml v2 is the YAML library under sigs.k8s.io/yaml, through which OPA
/// (`opa eval --input app.yaml`) and conftest read app.yaml in CI: YAML 1.1 booleans (`y`, `yes`,
/// `on`, `n`, `no`, `off` in three cases), numbers through Go's `strconv` with underscores dropped
/// and a leading `0` meaning octal. Dates stay text in both, as do sexagesimal numbers (`1:30`).
pub(crate) fn yaml11_reading(s: &str, ours: &Value) -> Option<Yaml11> {
    let theirs = go_yaml_v2_plain(s);
    let same = match (&theirs, ours) {
        (Yaml11::Value(Value::Number(a)), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Yaml11::Value(v), ours) => v == ours,
        (Yaml11::NotFinite, _) => false,
    };
    (!same).then_some(theirs)
}

fn go_yaml_v2_plain(s: &str) -> Yaml11 {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Yaml11::Value(Value::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Yaml11::Value(Value::Bool(false));
        }
        "" | "~" | "null" | "Null" | "NULL" => return Yaml11::Value(Value::Null),
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF"
        | "-.inf" | "-.Inf" | "-.INF" => return Yaml11::NotFinite,
        _ => {}
    }
    if !s.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c)) {
        return Yaml11::Value(Value::String(s.to_string()));
    }
    let plain = s.replace('_', "");
    if !s.starts_with('.')
        && let Some(n) = go_parse_int(&plain)
    {
        return Yaml11::Value(n);
    }
    if go_float_syntax(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return match Number::from_f64(f) {
            Some(n) => Yaml11::Value(Value::Number(n)),
            None => Yaml11::NotFinite,
        };
    }
    Yaml11::Value(Value::String(s.to_string()))
}

/// Go's `strconv.ParseInt(s, 0, 64)`, then `ParseUint`: a sign, `0x`/`0o`/`0b`, a leading `0`
/// for octal.
fn go_parse_int(s: &str) -> Option<Value> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (digits, radix) = if let Some(d) = lower.strip_prefix("0x") {
        (d, 16)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (d, 8)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (d, 2)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (&lower[1..], 8)
    } else {
        (lower.as_str(), 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        let v = i64::try_from(magnitude)
            .map(|m| -m)
            .or_else(|_| (magnitude == 1 << 63).then_some(i64::MIN).ok_or(()))
            .ok()?;
        Some(Value::from(v))
    } else {
        Some(Value::from(magnitude))
    }
}

/// go-yaml v2's float syntax: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn go_float_syntax(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_readings_that_differ_are_recorded() {
        let doc = parse(
            "a: no\nb: 'no'\nc: !!str yes\nd: 012\ne: 12\nf: 1_000\ng: 0x1F\nh: Y\ni: 2026-04-01\nj: 1:30\nk: 08\nl: !!bool on\n",
        )
        .expect("parses");
        let found: Vec<(&str, Value)> = doc
            .yaml11
            .iter()
            .map(|y| match &y.reading {
                Yaml11::Value(v) => (y.pointer.as_str(), v.clone()),
                Yaml11::NotFinite => (y.pointer.as_str(), Value::Null),
            })
            .collect();
        assert_eq!(
            found,
            vec![
                ("/a", Value::Bool(false)),
                ("/d", Value::from(10)),
                ("/f", Value::from(1000)),
                ("/h", Value::Bool(true)),
                ("/l", Value::Bool(true)),
            ]
        );
        assert_eq!(doc.value["a"], Value::from("no"));
    }

    #[test]
    fn ambiguous_scalars_are_quoted() {
        let text = "a: no\nb:\n- y\n- 'n'\nc: 1_000\nd: nothing\n";
        let quoted = quote_yaml11_scalars(text);
        assert_eq!(
            quoted,
            "a: 'no'\nb:\n- 'y'\n- 'n'\nc: '1_000'\nd: nothing\n"
        );
        assert!(parse(&quoted).expect("parses").yaml11.is_empty());
        assert_eq!(
            parse(&quoted).expect("parses").value,
            parse(text).expect("parses").value
        );
    }

    #[test]
    fn go_numbers() {
        for (s, v) in [
            ("0o17", Some(15)),
            ("-0b101", Some(-5)),
            ("+10", Some(10)),
            ("0", Some(0)),
            ("09", None),
            ("1e3", None),
        ] {
            assert_eq!(go_parse_int(s), v.map(Value::from), "{s}");
        }
        assert!(go_float_syntax("1e3") && go_float_syntax(".5") && go_float_syntax("1."));
        assert!(!go_float_syntax("1.2.3") && !go_float_syntax("e3") && !go_float_syntax("."));
    }

    #[test]
    fn positions_of_keys_and_values() {
        let doc = parse("name: a\nruntime:\n  cpu_limit: 0.25\n").expect("parses");
        let s = doc.spans.find("/runtime/cpu_limit").expect("span").1;
        assert_eq!((s.key.map(|k| (k.line, k.col))), Some((3, 3)));
        assert_eq!((s.value.line, s.value.col), (3, 14));
        assert_eq!(doc.value["runtime"]["cpu_limit"], serde_json::json!(0.25));
    }

    #[test]
    fn core_schema_scalars() {
        let doc = parse("a: no\nb: 2026-04-01\nc: 60\nd: '60'\ne: ~\nf: true\n").expect("parses");
        assert_eq!(
            doc.value,
            serde_json::json!({"a": "no", "b": "2026-04-01", "c": 60, "d": "60", "e": null, "f": true})
        );
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let e = parse("name: a\nname: b\n").expect_err("duplicate");
        assert_eq!((e.pos.line, e.pos.col), (2, 1));
        assert!(e.message.contains("twice"));
    }

    #[test]
    fn alias_bomb_is_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for i in 0..9 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("l{}", i - 1)
            };
            text.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let e = parse(&text).expect_err("bomb");
        assert!(e.message.contains("expands"), "{}", e.message);
    }

    #[test]
    fn second_document_is_refused() {
        let e = parse("a: 1\n---\nb: 2\n").expect_err("two docs");
        assert_eq!(e.pos.line, 2);
    }

    #[test]
    fn non_utf8_is_located() {
        let e = decode(b"name: a\nowner: \xff\n").expect_err("not utf-8");
        assert_eq!((e.pos.line, e.pos.col), (2, 8));
    }
}
