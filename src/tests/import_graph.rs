//! The rule "no import cycles: a lower layer never names a higher one", checked on the source.
//!
//! Every module file under `src/` is a node; an edge `a -> b` means a names b: a `use`, or a
//! path in code (`crate::x::y::Z`, `super::x::Z`, `self::x`, or a path through a name that a
//! `use` or a `mod` bound). A path names the longest module prefix that has a file
//! (`crate::a::b::C` names `a::b` when `src/a/b.rs` or `src/a/b/mod.rs` exists, else `a`);
//! a module naming one of its own ancestors or children counts like any other. Left out:
//! comments (doc links are not dependencies), string literals, `mod x;` declarations (owning
//! a child is not naming it), items under `#[cfg(test)]`, and the test-only files (every
//! `tests.rs`, `src/tests/`, `src/testing.rs` and `src/testing/`), which may name anything.
//! The test fails listing each circle (a strongly connected set of modules): its members, one
//! shortest cycle through it, and the edges inside it with the path that makes each.
//!
//! What a text scan cannot see: a method call names no module, so an inherent `impl App` in a
//! lower module (a method that `app.rs` then calls) would hide an edge; keep such impls in the
//! module of the type, or in a higher one (`routes.rs`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// The module's path (`""` for the crate root, `shard::gate`, ...).
type Module = String;

#[test]
fn the_modules_name_each_other_without_circles() {
    let graph = Graph::of_crate(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(graph.edges.len() > 50, "the scan found the crate's imports ({} modules with edges)", graph.edges.len());
    let circles = graph.circles();
    let report: Vec<String> = circles.iter().map(|c| graph.describe(c)).collect();
    assert!(circles.is_empty(), "{} import circle(s):\n\n{}", circles.len(), report.join("\n"));
}

/// Module -> module, each edge with one path that makes it.
#[derive(Debug, Default)]
struct Graph {
    edges: BTreeMap<Module, BTreeMap<Module, String>>,
}

impl Graph {
    fn of_crate(src: &Path) -> Graph {
        let mut files = Vec::new();
        collect(src, &mut files);
        let modules: BTreeMap<Module, PathBuf> = files.iter().filter_map(|f| module_of(src, f).map(|m| (m, f.clone()))).collect();
        let names: BTreeSet<Module> = modules.keys().cloned().collect();
        let mut graph = Graph::default();
        for (module, file) in &modules {
            if test_only(src, file) {
                continue;
            }
            let text = std::fs::read_to_string(file).expect("a source file reads");
            for (target, evidence) in references(module, &text, &names) {
                if target != *module {
                    graph.edges.entry(module.clone()).or_default().entry(target).or_insert(evidence);
                }
            }
        }
        graph
    }

    fn from_edges(edges: &[(&str, &str)]) -> Graph {
        let mut graph = Graph::default();
        for (a, b) in edges {
            graph.edges.entry(a.to_string()).or_default().insert(b.to_string(), String::new());
        }
        graph
    }

    fn successors(&self, m: &str) -> impl Iterator<Item = &Module> {
        self.edges.get(m).into_iter().flat_map(|e| e.keys())
    }

    /// The strongly connected sets of more than one module (Tarjan's algorithm).
    fn circles(&self) -> Vec<Vec<Module>> {
        struct State<'a> {
            graph: &'a Graph,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on_stack: BTreeSet<&'a str>,
            out: Vec<Vec<Module>>,
        }
        fn visit<'a>(s: &mut State<'a>, v: &'a str) {
            let i = s.index.len();
            s.index.insert(v, i);
            s.low.insert(v, i);
            s.stack.push(v);
            s.on_stack.insert(v);
            for w in s.graph.successors(v) {
                if !s.index.contains_key(w.as_str()) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w.as_str()]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w.as_str()) {
                    let low = s.low[v].min(s.index[w.as_str()]);
                    s.low.insert(v, low);
                }
            }
            if s.low[v] == s.index[v] {
                let mut set = Vec::new();
                while let Some(w) = s.stack.pop() {
                    s.on_stack.remove(w);
                    set.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                if set.len() > 1 {
                    set.sort();
                    s.out.push(set);
                }
            }
        }
        let mut s = State { graph: self, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on_stack: BTreeSet::new(), out: Vec::new() };
        for v in self.edges.keys() {
            if !s.index.contains_key(v.as_str()) {
                visit(&mut s, v);
            }
        }
        s.out.sort();
        s.out
    }

    /// A shortest cycle through `from` inside `set` (breadth first).
    fn shortest_cycle(&self, from: &str, set: &BTreeSet<&str>) -> Vec<Module> {
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([from]);
        while let Some(v) = queue.pop_front() {
            for w in self.successors(v).map(String::as_str).filter(|w| set.contains(w)) {
                if w == from {
                    let mut cycle = vec![from.to_string()];
                    let mut at = v;
                    while at != from {
                        cycle.push(at.to_string());
                        at = came_from[at];
                    }
                    cycle[1..].reverse();
                    cycle.push(from.to_string());
                    return cycle;
                }
                if !came_from.contains_key(w) {
                    came_from.insert(w, v);
                    queue.push_back(w);
                }
            }
        }
        Vec::new()
    }

    fn describe(&self, circle: &[Module]) -> String {
        let set: BTreeSet<&str> = circle.iter().map(String::as_str).collect();
        let mut out = format!("circle of {}: {}\n", circle.len(), circle.iter().map(|m| file_name(m)).collect::<Vec<_>>().join(", "));
        let cycle = self.shortest_cycle(&circle[0], &set);
        out += &format!("  e.g. {}\n", cycle.iter().map(|m| file_name(m)).collect::<Vec<_>>().join(" -> "));
        for a in circle {
            for (b, evidence) in self.edges.get(a).into_iter().flatten().filter(|(b, _)| set.contains(b.as_str())) {
                out += &format!("  {} -> {}  ({evidence})\n", file_name(a), file_name(b));
            }
        }
        out
    }
}

fn file_name(m: &str) -> String {
    if m.is_empty() {
        "lib".into()
    } else {
        m.replace("::", "/")
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).expect("src/ lists").map(|e| e.expect("an entry").path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `src/lib.rs` is the root. (`src/edge/*.mjs`
/// and other files are not modules.)
fn module_of(src: &Path, file: &Path) -> Option<Module> {
    let rel = file.strip_prefix(src).ok()?.with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts == ["lib"] {
        return Some(String::new());
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    Some(parts.join("::"))
}

fn test_only(src: &Path, file: &Path) -> bool {
    let rel = file.strip_prefix(src).expect("under src/");
    rel.file_name().is_some_and(|n| n == "tests.rs") || rel.starts_with("tests") || rel.starts_with("testing") || rel == Path::new("testing.rs")
}

/// The modules `text` (the file of `module`) names, each with the path that names it.
fn references(module: &str, text: &str, modules: &BTreeSet<Module>) -> Vec<(Module, String)> {
    let tokens = without_tests(&tokenize(text));
    let scope = Scope::of(module, &tokens, modules);
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i] == "use" {
            let end = (i..tokens.len()).find(|&j| tokens[j] == ";").unwrap_or(tokens.len());
            for (path, _) in use_leaves(&tokens[i + 1..end]) {
                if let Some(target) = scope.resolve(&path) {
                    out.push((target, path.join("::")));
                }
            }
            i = end + 1;
            continue;
        }
        // A path `a::b::...` starting here (not in the middle of one).
        let starts = is_ident(&tokens[i]) && tokens.get(i + 1).is_some_and(|t| t == "::") && (i == 0 || tokens[i - 1] != "::");
        if starts {
            let mut path = vec![tokens[i].clone()];
            let mut j = i + 1;
            while tokens.get(j).is_some_and(|t| t == "::") && tokens.get(j + 1).is_some_and(|t| is_ident(t)) {
                path.push(tokens[j + 1].clone());
                j += 2;
            }
            if let Some(target) = scope.resolve(&path) {
                out.push((target, path.join("::")));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// What names mean in one file: its module, its child modules, the names its `use`s bind.
struct Scope<'a> {
    module: Vec<String>,
    modules: &'a BTreeSet<Module>,
    /// Name -> absolute path (segments from the crate root).
    bound: BTreeMap<String, Vec<String>>,
}

impl<'a> Scope<'a> {
    fn of(module: &str, tokens: &[String], modules: &'a BTreeSet<Module>) -> Scope<'a> {
        let module: Vec<String> = if module.is_empty() { Vec::new() } else { module.split("::").map(String::from).collect() };
        let mut scope = Scope { module, modules, bound: BTreeMap::new() };
        for (i, t) in tokens.iter().enumerate() {
            if t == "mod" && tokens.get(i + 2).is_some_and(|t| t == ";") {
                let child = tokens[i + 1].clone();
                let path = scope.module.iter().cloned().chain([child.clone()]).collect();
                scope.bound.insert(child, path);
            }
        }
        // `use`s may build on each other (`use super::x; use x::y;`): a few rounds settle them.
        for _ in 0..3 {
            let mut i = 0;
            while i < tokens.len() {
                if tokens[i] == "use" {
                    let end = (i..tokens.len()).find(|&j| tokens[j] == ";").unwrap_or(tokens.len());
                    for (path, name) in use_leaves(&tokens[i + 1..end]) {
                        if let (Some(abs), Some(name)) = (scope.absolute(&path), name) {
                            scope.bound.insert(name, abs);
                        }
                    }
                    i = end;
                }
                i += 1;
            }
        }
        scope
    }

    /// The path from the crate root, or `None` for another crate's (`std::`, `serde::`).
    fn absolute(&self, path: &[String]) -> Option<Vec<String>> {
        let (first, rest) = path.split_first()?;
        let mut base = match first.as_str() {
            "crate" | "$crate" => Vec::new(),
            "self" => self.module.clone(),
            "super" => self.module[..self.module.len().checked_sub(1)?].to_vec(),
            name => self.bound.get(name)?.clone(),
        };
        let mut rest = rest;
        while rest.first().is_some_and(|s| s == "super") {
            base.pop()?;
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The module a path names: the longest prefix of it that is a module file.
    fn resolve(&self, path: &[String]) -> Option<Module> {
        let abs = self.absolute(path)?;
        (0..=abs.len()).rev().map(|n| abs[..n].join("::")).find(|m| self.modules.contains(m))
    }
}

/// The leaves of a use tree (the tokens between `use` and `;`): each full path, and the name
/// it binds (`None` for `*`).
fn use_leaves(tokens: &[String]) -> Vec<(Vec<String>, Option<String>)> {
    fn tree(tokens: &[String], i: &mut usize, prefix: &[String], out: &mut Vec<(Vec<String>, Option<String>)>) {
        let mut path = prefix.to_vec();
        loop {
            match tokens.get(*i).map(String::as_str) {
                Some("::") => *i += 1,
                Some("{") => {
                    *i += 1;
                    while tokens.get(*i).is_some_and(|t| t != "}") {
                        tree(tokens, i, &path, out);
                        if tokens.get(*i).is_some_and(|t| t == ",") {
                            *i += 1;
                        }
                    }
                    *i += 1;
                    return;
                }
                Some("*") => {
                    *i += 1;
                    out.push((path, None));
                    return;
                }
                Some("self") if !path.is_empty() => {
                    *i += 1;
                    let mut name = path.last().cloned();
                    if tokens.get(*i).is_some_and(|t| t == "as") {
                        name = tokens.get(*i + 1).cloned();
                        *i += 2;
                    }
                    out.push((path, name));
                    return;
                }
                Some(t) if is_ident(t) => {
                    path.push(t.to_string());
                    *i += 1;
                    if tokens.get(*i).is_some_and(|t| t == "as") {
                        let alias = tokens.get(*i + 1).cloned();
                        *i += 2;
                        out.push((path, alias));
                        return;
                    }
                    if tokens.get(*i).is_none_or(|t| t != "::") {
                        let name = path.last().cloned();
                        out.push((path, name));
                        return;
                    }
                }
                _ => return,
            }
        }
    }
    let mut out = Vec::new();
    let mut i = 0;
    // `pub use`, `pub(crate) use` are cut before `use`; what is left is one tree.
    tree(tokens, &mut i, &[], &mut out);
    out
}

fn is_ident(t: &str) -> bool {
    let mut chars = t.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$') && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// The file as tokens: identifiers (with `$crate`), `::`, and single punctuation characters;
/// comments, strings and character literals dropped (lifetimes kept as punctuation + name).
fn tokenize(text: &str) -> Vec<String> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(k).copied().unwrap_or('\0');
        match c[i] {
            '/' if at(i + 1) == '/' => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if at(i + 1) == '*' => {
                let mut depth = 0;
                while i < c.len() {
                    if c[i] == '/' && at(i + 1) == '*' {
                        depth += 1;
                        i += 2;
                    } else if c[i] == '*' && at(i + 1) == '/' {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            // Raw strings: r"..", r#".."#, br#".."#.
            'r' | 'b' if raw_string_start(&c, i).is_some() => {
                let (hashes, body) = raw_string_start(&c, i).expect("just matched");
                i = body;
                while i < c.len() && !(c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#')) {
                    i += 1;
                }
                i += 1 + hashes;
            }
            '"' => {
                i += 1;
                while i < c.len() && c[i] != '"' {
                    i += if c[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
            }
            // A character literal ('x', '\n', '{'), or a lifetime ('a): only the first closes.
            '\'' if at(i + 1) == '\\' => {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            }
            '\'' if at(i + 2) == '\'' => i += 3,
            ':' if at(i + 1) == ':' => {
                out.push("::".to_string());
                i += 2;
            }
            ch if ch.is_alphabetic() || ch == '_' || ch == '$' => {
                let start = i;
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                out.push(c[start..i].iter().collect());
            }
            ch if ch.is_whitespace() => i += 1,
            ch => {
                out.push(ch.to_string());
                i += 1;
            }
        }
    }
    out
}

/// At `i`, `r"`, `r#"`, `br"` ...: the number of `#` and where the body starts.
fn raw_string_start(c: &[char], i: usize) -> Option<(usize, usize)> {
    if i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_') {
        return None;
    }
    let mut j = i;
    if c.get(j) == Some(&'b') {
        j += 1;
    }
    if c.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = c[j..].iter().take_while(|&&ch| ch == '#').count();
    (c.get(j + hashes) == Some(&'"')).then_some((hashes, j + hashes + 1))
}

/// The tokens without the items under `#[cfg(test)]` (or `#[cfg(all(test, ...))]`): an item
/// ends at its first `;` outside braces, or where its first `{` closes.
fn without_tests(tokens: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let test_cfg = tokens[i] == "#"
            && tokens.get(i + 1).is_some_and(|t| t == "[")
            && tokens.get(i + 2).is_some_and(|t| t == "cfg")
            && tokens.get(i + 3).is_some_and(|t| t == "(")
            && (tokens.get(i + 4).is_some_and(|t| t == "test")
                || (tokens.get(i + 4).is_some_and(|t| t == "all") && tokens.get(i + 6).is_some_and(|t| t == "test")));
        if !test_cfg {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        // Past the attribute...
        let mut depth = 0;
        while i < tokens.len() {
            match tokens[i].as_str() {
                "[" => depth += 1,
                "]" => {
                    depth -= 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        // ...and past the item.
        let mut depth = 0;
        while i < tokens.len() {
            match tokens[i].as_str() {
                ";" if depth == 0 => {
                    i += 1;
                    break;
                }
                "{" => depth += 1,
                "}" => {
                    depth -= 1;
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                _ => {}
            }
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod checks {
    use super::*;

    fn modules(names: &[&str]) -> BTreeSet<Module> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn named(module: &str, text: &str, all: &[&str]) -> BTreeSet<Module> {
        references(module, text, &modules(all)).into_iter().map(|(m, _)| m).filter(|m| m != module).collect()
    }

    #[test]
    fn uses_and_paths_name_the_longest_module_prefix() {
        let all = ["", "a", "a::b", "a::b::c", "d", "e"];
        let text = "use crate::a::b::{self as bee, X};\nuse super::d::Y;\nfn f() { bee::c::g(); crate::block_on(()); std::mem::drop(1); }";
        assert_eq!(named("e", text, &all), modules(&["a::b", "a::b::c", "d", ""]));
    }

    #[test]
    fn children_aliases_and_self() {
        let all = ["", "s", "s::k", "s::t", "x"];
        let text = "pub mod k;\nmod t;\npub use t::{f, g};\nuse crate::x as why;\nfn h() { k::go(); self::t::z(); why::y(); }";
        assert_eq!(named("s", text, &all), modules(&["s::k", "s::t", "x"]));
        // From a child: `super` is the parent; `super::super` its parent.
        assert_eq!(named("s::k", "use super::{Op, t::Rec};\nfn f() -> super::super::x::Y {}", &all), modules(&["s", "s::t", "x"]));
    }

    #[test]
    fn tests_comments_and_strings_name_nothing() {
        let all = ["", "a", "b", "c", "d", "e"];
        let text = "//! See [`crate::a`].\n/* crate::b */ fn f() { let s = \"crate::c\"; let r = r#\"crate::c\"#; let ch = '{'; }\n#[cfg(test)]\nmod tests { use crate::d; }\n#[cfg(test)]\nuse crate::d::X;\nfn g<'a>(x: &'a str) { crate::e::h(x) }";
        assert_eq!(named("", text, &all), modules(&["e"]));
    }

    #[test]
    fn circles_are_found_and_a_dag_has_none() {
        let g = Graph::from_edges(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e"), ("e", "d"), ("f", "a")]);
        assert_eq!(g.circles(), vec![vec!["a".to_string(), "b".into(), "c".into()], vec!["d".to_string(), "e".into()]]);
        let set: BTreeSet<&str> = ["a", "b", "c"].into();
        assert_eq!(g.shortest_cycle("a", &set), ["a", "b", "c", "a"]);
        assert!(Graph::from_edges(&[("a", "b"), ("b", "c"), ("a", "c")]).circles().is_empty());
    }
}
