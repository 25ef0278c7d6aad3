//! Lexer and recursive-descent parser for one rule line.
//!
//! Grammar (keywords and actions are case-insensitive):
//!
//! ```text
//! rule     := [name ':'] action 'if' or
//! action   := 'Request 3D Secure' | 'Allow' | 'Block' | 'Review'
//! or       := and (('OR' | '||') and)*
//! and      := not (('AND' | '&&') not)*
//! not      := ('NOT' | '!') not | primary
//! primary  := '(' or ')' | 'is_missing' '(' (attr | meta) ')' | operand [op rhs]
//! op       := '=' | '!=' | '<' | '>' | '<=' | '>=' | 'IN' | 'INCLUDES' | 'LIKE'
//! rhs      := operand | '(' operand (',' operand)* ')' | '@' alias
//! operand  := ':' attr ':' | meta | 'string' | number
//! meta     := '::' [('customer' | 'destination' | 'account') ':'] key '::'
//! ```
//!
//! A metadata key is everything up to the closing `::` (spaces included: `::Customer Age::`). In a
//! string, `\` escapes the next character; after LIKE, `\%` is a literal percent sign (Radar has
//! no escape; this is riskgate's). riskgate also reads `==`, `<>` and double-quoted strings, which
//! Radar does not document. `true`/`false` parse, so that the compiler can say Radar has no Boolean
//! literals. A condition nests at most [`MAX_NESTING`] levels of `(` and `NOT`.

use super::ast::{CmpOp, Expr, MetaKey, Operand, Rhs, Rule, Span, Spanned};
pub use super::lexer::SyntaxError;
use super::lexer::{Tok, is_name_byte, lex};
use crate::decision::Action;

/// Lines Stripe's pages print that are not rules of the language, with what to write instead:
/// built-in rules named in words, and dispute rules.
fn not_a_rule(line: &str) -> Option<SyntaxError> {
    const BUILT_IN: &[(&str, &str)] = &[
        (
            "cvc verification fails based on risk score",
            "Block if :cvc_check: = 'fail' AND :risk_level: != 'normal'",
        ),
        ("cvc verification fails", "Block if :cvc_check: = 'fail'"),
        (
            "postal code verification fails based on risk score",
            "Block if :address_zip_check: = 'fail' AND :risk_level: != 'normal'",
        ),
        (
            "postal code verification fails",
            "Block if :address_zip_check: = 'fail'",
        ),
        (
            "3d secure is required for card",
            "Request 3D Secure if :card_3d_secure_support: = 'required'",
        ),
        (
            "3d secure is recommended for card",
            "Request 3D Secure if :card_3d_secure_support: = 'recommended'",
        ),
        (
            "3d secure is supported for card",
            "Request 3D Secure if :card_3d_secure_support: IN ('required', 'recommended', 'optional')",
        ),
    ];
    let lower = line.to_ascii_lowercase();
    let whole = Span::new(0, line.len());
    let trimmed = lower.trim_start();
    if trimmed.starts_with("resolve dispute") {
        return Some(SyntaxError::at(
            whole,
            "`Resolve dispute` is a dispute rule: it acts on a dispute after the payment, not \
             before authorization; riskgate evaluates payments (report disputes with \
             ReportPaymentOutcome or Stripe's webhooks instead)",
        ));
    }
    let (_, condition) = lower.split_once("if ")?;
    let condition = condition.trim();
    BUILT_IN
        .iter()
        .find(|(words, _)| condition == *words)
        .map(|(_, instead)| {
            SyntaxError::at(
                whole,
                format!(
                    "Stripe's built-in rule named in words (\"{condition}\") is not rule text; write `{instead}`"
                ),
            )
        })
}

/// The actions in the words an analyst writes them.
const ACTIONS: &[(&str, Action)] = &[
    ("request 3d secure", Action::RequestThreeDSecure),
    ("allow", Action::Continue),
    ("block", Action::Block),
    ("review", Action::Review),
];

const EXPECTED_ACTION: &str =
    "expected an action: `Request 3D Secure`, `Allow`, `Block` or `Review`";

fn action_at(line: &str, at: usize) -> Option<(Action, usize)> {
    let rest = &line[at..];
    ACTIONS.iter().find_map(|(words, action)| {
        let head = rest.get(..words.len())?;
        let next = rest[words.len()..].bytes().next();
        (head.eq_ignore_ascii_case(words) && next.is_none_or(|b| b.is_ascii_whitespace()))
            .then_some((*action, at + words.len()))
    })
}

fn skip_ws(line: &str, mut at: usize) -> usize {
    while line.as_bytes().get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    at
}

/// Whether a line holds no rule (blank or a comment).
pub fn is_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// Parses one rule line.
pub fn parse_rule(line: &str) -> Result<Rule, SyntaxError> {
    if let Some(e) = not_a_rule(line) {
        return Err(e);
    }
    let mut at = skip_ws(line, 0);
    let mut name = None;
    let (action, after) = match action_at(line, at) {
        Some(found) => found,
        None => {
            let colon = line[at..].find(':').map(|c| at + c);
            let Some(colon) = colon else {
                return Err(SyntaxError::at(
                    Span::new(at, line.len().max(at + 1)),
                    EXPECTED_ACTION,
                ));
            };
            let written = line[at..colon].trim();
            if written
                .split_whitespace()
                .any(|w| w.eq_ignore_ascii_case("if"))
            {
                // `Deny if :a: …`: an unknown action, not a rule name.
                let word = line[at..].split_whitespace().next().unwrap_or("");
                let hint = if word.eq_ignore_ascii_case("if") {
                    " (Stripe's pages print the condition apart from its action; write `Block if …`, `Review if …`)"
                } else {
                    ""
                };
                return Err(SyntaxError::at(
                    Span::new(at, at + word.len()),
                    format!("{EXPECTED_ACTION}, found `{word}`{hint}"),
                ));
            }
            if written.is_empty()
                || !written
                    .bytes()
                    .all(|b| is_name_byte(b) || matches!(b, b'-' | b'.' | b' '))
            {
                return Err(SyntaxError::at(
                    Span::new(at, colon.max(at + 1)),
                    format!(
                        "{EXPECTED_ACTION} (or a rule name made of letters, digits, `_`, `-`, `.` and spaces, then `:`)"
                    ),
                ));
            }
            name = Some(written.to_owned());
            at = skip_ws(line, colon + 1);
            action_at(line, at).ok_or_else(|| {
                SyntaxError::at(Span::new(at, line.len().max(at + 1)), EXPECTED_ACTION)
            })?
        }
    };
    let tokens = lex(line, after)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let (tok, span) = p.next();
    if !tok.is_word("if") {
        return Err(SyntaxError::at(
            span,
            format!("expected `if` after the action, found {}", tok.describe()),
        ));
    }
    let condition = p.or()?;
    let (tok, span) = p.next();
    if tok != Tok::Eof {
        return Err(SyntaxError::at(
            span,
            format!(
                "expected `AND`, `OR` or the end of the rule, found {}",
                tok.describe()
            ),
        ));
    }
    Ok(Rule {
        name,
        action,
        condition,
    })
}

struct Parser {
    tokens: Vec<(Tok, Span)>,
    pos: usize,
    /// Open parentheses and `NOT`s around the current position ([`Parser::descend`]).
    depth: usize,
}

/// How deeply a condition may nest: parentheses and `NOT`s (each `NOT` and each `(` is a level).
/// Real rules use a handful; the limit bounds the recursion of the parser and of everything that
/// walks the tree it builds (compiler, evaluator, printer, drop), so that a hostile or broken rules
/// file is refused with an error instead of overflowing a thread's stack. 32 levels take about
/// 350 KiB of stack to parse in a debug build (much less optimised); threads have 2 MiB.
pub const MAX_NESTING: usize = 32;

// === nesting depth ===

impl Parser {
    /// Enters one level of nesting at `span` (a `(` or a `NOT`); refused beyond [`MAX_NESTING`].
    /// Every successful call is paired with [`Parser::ascend`].
    fn descend(&mut self, span: Span) -> Result<(), SyntaxError> {
        if self.depth >= MAX_NESTING {
            return Err(SyntaxError::at(
                span,
                format!(
                    "the condition nests too deeply: more than {MAX_NESTING} levels of parentheses \
                     and NOT; split the rule or simplify it"
                ),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn ascend(&mut self) {
        self.depth -= 1;
    }
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.tokens[self.pos].0
    }

    fn next(&mut self) -> (Tok, Span) {
        let t = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn or(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.and()?];
        while matches!(self.peek(), Tok::OrSym) || self.peek().is_word("or") {
            self.next();
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::Or(items)
        })
    }

    fn and(&mut self) -> Result<Expr, SyntaxError> {
        let mut items = vec![self.not()?];
        while matches!(self.peek(), Tok::AndSym) || self.peek().is_word("and") {
            self.next();
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Expr::And(items)
        })
    }

    fn not(&mut self) -> Result<Expr, SyntaxError> {
        if matches!(self.peek(), Tok::Bang) || self.peek().is_word("not") {
            let (_, span) = self.next();
            self.descend(span)?;
            let inner = self.not()?;
            self.ascend();
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, SyntaxError> {
        if matches!(self.peek(), Tok::LParen) {
            let (_, span) = self.next();
            self.descend(span)?;
            let inner = self.or()?;
            self.ascend();
            self.expect_rparen("to close the parenthesis")?;
            return Ok(inner);
        }
        if self.peek().is_word("is_missing") {
            self.next();
            let (tok, span) = self.next();
            if tok != Tok::LParen {
                return Err(SyntaxError::at(
                    span,
                    format!("expected `(` after is_missing, found {}", tok.describe()),
                ));
            }
            let (tok, span) = self.next();
            let operand = match tok {
                Tok::Attr(a) => Operand::Attr(a),
                Tok::Meta(k) => Operand::Meta(MetaKey::parse(&k)),
                other => {
                    return Err(SyntaxError::at(
                        span,
                        format!(
                            "expected an attribute (`:name:`) or metadata key (`::key::`) inside is_missing(…), found {}",
                            other.describe()
                        ),
                    ));
                }
            };
            self.expect_rparen("after the attribute of is_missing(…)")?;
            return Ok(Expr::IsMissing(Spanned::new(operand, span)));
        }
        let lhs = self.operand("a condition: an attribute (`:name:`), metadata (`::key::`), `NOT`, `(` or is_missing(…)")?;
        let op = match self.peek() {
            Tok::Op(op) => Some(*op),
            t if t.is_word("in") => Some(CmpOp::In),
            t if t.is_word("includes") => Some(CmpOp::Includes),
            t if t.is_word("like") => Some(CmpOp::Like),
            _ => None,
        };
        let Some(op) = op else {
            return Ok(Expr::Truthy(lhs));
        };
        let (_, op_span) = self.next();
        let rhs = match (op, self.peek().clone()) {
            (_, Tok::SavedList(alias)) => {
                let (_, span) = self.next();
                Spanned::new(Rhs::SavedList(alias), span)
            }
            (CmpOp::In, Tok::LParen) => {
                let (_, open) = self.next();
                let mut items = vec![self.operand("a value in the list")?];
                while matches!(self.peek(), Tok::Comma) {
                    self.next();
                    items.push(self.operand("a value in the list")?);
                }
                let close = self.expect_rparen("or `,` in the list")?;
                Spanned::new(Rhs::List(items), open.to(close))
            }
            (CmpOp::Like, Tok::Str(_, raw)) => {
                let (_, span) = self.next();
                Spanned::new(Rhs::Operand(Operand::Pattern(raw)), span)
            }
            (CmpOp::In, _) => {
                let (tok, span) = self.next();
                return Err(SyntaxError::at(
                    span,
                    format!(
                        "expected a list after IN: `('a', 'b')` or `@alias`, found {}",
                        tok.describe()
                    ),
                ));
            }
            _ => {
                let o = self.operand(&format!("a value after `{}`", op.as_str()))?;
                Spanned::new(Rhs::Operand(o.node), o.span)
            }
        };
        Ok(Expr::Compare {
            lhs,
            op: Spanned::new(op, op_span),
            rhs,
        })
    }

    fn operand(&mut self, expected: &str) -> Result<Spanned<Operand>, SyntaxError> {
        let (tok, span) = self.next();
        let operand = match tok {
            Tok::Attr(a) => Operand::Attr(a),
            Tok::Meta(k) => Operand::Meta(MetaKey::parse(&k)),
            Tok::Str(s, _) => Operand::Str(s),
            Tok::Num(n) => Operand::Num(n),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Operand::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Operand::Bool(false),
            other => {
                let hint = match &other {
                    Tok::Word(_) => " (attributes are written `:name:`, strings in quotes)",
                    _ => "",
                };
                return Err(SyntaxError::at(
                    span,
                    format!("expected {expected}, found {}{hint}", other.describe()),
                ));
            }
        };
        Ok(Spanned::new(operand, span))
    }

    fn expect_rparen(&mut self, why: &str) -> Result<Span, SyntaxError> {
        let (tok, span) = self.next();
        if tok == Tok::RParen {
            Ok(span)
        } else {
            Err(SyntaxError::at(
                span,
                format!("expected `)` {why}, found {}", tok.describe()),
            ))
        }
    }
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Self { node, span }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Rule {
        parse_rule(s).unwrap_or_else(|e| panic!("{s}: {e:?}"))
    }

    #[test]
    fn seed_examples_parse_and_print_back() {
        for rule in [
            "Block if :risk_level: = 'highest'",
            "Block if :ip_country: = 'NG'",
            "Block if :card_country: != :ip_country:",
            "Block if :amount_in_usd: > 5000 AND :risk_level: = 'elevated'",
            "Allow if :is_3d_secure: = 'true'",
            "Review if :risk_level: = 'elevated' AND :amount_in_usd: > 1000",
            "Block if :card_fingerprint: IN @block_list",
            "Request 3D Secure if :card_country: IN ('gb', 'ie') OR NOT :is_off_session:",
            "Review if ::customer:tier:: = 'new' AND is_missing(:email:)",
            "high_value: Review if (:amount_in_usd: >= 1000 OR :email: LIKE '%@example.com') AND :is_recurring:",
            "Review if ::Customer Age:: < 30",
            "Review if ::Item ID:: = '5A381D' AND :amount_in_usd: > 1000",
            "Review if ::account:Internal Risk Rating:: = 'high'",
            r"Review if ::promo:: LIKE '50\%%'",
        ] {
            assert_eq!(parse(rule).to_string(), rule);
        }
        // A double-quoted pattern prints in single quotes and parses back the same.
        let r = parse(r#"Review if :email: LIKE "o'n%\"x" "#);
        assert_eq!(r.to_string(), r#"Review if :email: LIKE 'o\'n%"x'"#);
        assert_eq!(parse(&r.to_string()), r);
    }

    #[test]
    fn metadata_keys_and_namespaces() {
        use crate::attributes::MetadataScope;
        let key = |rule: &str| match parse(rule).condition {
            Expr::Compare { lhs, .. } => match lhs.node {
                Operand::Meta(k) => (k.scope, k.key),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        };
        assert_eq!(
            key("Review if ::Customer Age:: < 30"),
            (MetadataScope::Payment, "Customer Age".to_owned())
        );
        assert_eq!(
            key("Allow if ::customer:Trusted:: = 'true'"),
            (MetadataScope::Customer, "Trusted".to_owned())
        );
        assert_eq!(
            key("Review if ::destination:Category:: = 'new'"),
            (MetadataScope::Destination, "Category".to_owned())
        );
        assert_eq!(
            key("Review if ::account:Internal Risk Rating:: = 'high'"),
            (MetadataScope::Account, "Internal Risk Rating".to_owned())
        );
        assert_eq!(
            key("Review if ::order:id:: = 'x'"),
            (MetadataScope::Payment, "order:id".to_owned())
        );
        let e = err("Review if ::account:Internal Risk Rating: = 'high'");
        assert!(e.message.contains("unterminated metadata key"), "{e:?}");
        assert!(e.message.contains("::account:key::"), "{e:?}");
        let e = err("Review if :::: = 'x'");
        assert!(e.message.contains("expected a metadata key"), "{e:?}");
    }

    #[test]
    fn lines_stripe_prints_that_are_not_rules() {
        let e = err("Block if CVC verification fails");
        assert!(e.message.contains("Block if :cvc_check: = 'fail'"), "{e:?}");
        let e = err("if postal code verification fails based on risk score");
        assert!(
            e.message
                .contains(":address_zip_check: = 'fail' AND :risk_level: != 'normal'"),
            "{e:?}"
        );
        let e = err("Request 3D Secure if 3D Secure is required for card");
        assert!(
            e.message.contains(":card_3d_secure_support: = 'required'"),
            "{e:?}"
        );
        let e = err("Resolve dispute if :amount_in_usd: <= 10.00");
        assert!(e.message.contains("dispute rule"), "{e:?}");
        let e = err("if :risk_level: = 'highest'");
        assert!(e.message.contains("expected an action"), "{e:?}");
        let e = err("Review if :charge_description: = \u{201C}Discount\"");
        assert!(e.message.contains("typographic quote"), "{e:?}");
        let e = err("Block if :ip_country: = ca and :card_country: = 'ca'");
        assert!(e.message.contains("strings in quotes"), "{e:?}");
    }

    #[test]
    fn precedence_is_not_and_or() {
        let r = parse("Block if :a: OR :b: AND NOT :c: || !:d: && :e:");
        assert_eq!(
            r.to_string(),
            "Block if :a: OR :b: AND NOT :c: OR NOT :d: AND :e:"
        );
        let Expr::Or(items) = r.condition else {
            panic!("OR binds loosest")
        };
        assert_eq!(items.len(), 3);
        assert!(matches!(&items[1], Expr::And(a) if matches!(a[1], Expr::Not(_))));
        // Parentheses are kept where they change the meaning.
        let r = parse("Block if (:a: OR :b:) AND NOT (:c: AND :d:)");
        assert_eq!(r.to_string(), "Block if (:a: OR :b:) AND NOT (:c: AND :d:)");
        assert_eq!(
            parse("block IF :a: and (:b:)").to_string(),
            "Block if :a: AND :b:"
        );
    }

    #[test]
    fn literals_and_symbols() {
        let r = parse(r#"Allow if :email: = "o'neil@x.io" && :amount: <= -2.5 && :x: == true"#);
        assert_eq!(
            r.to_string(),
            r"Allow if :email: = 'o\'neil@x.io' AND :amount: <= -2.5 AND :x: = true"
        );
        assert_eq!(parse(&r.to_string()), r);
        let r = parse("Block if :a: = 1 # trailing comment");
        assert_eq!(r.to_string(), "Block if :a: = 1");
    }

    fn err(s: &str) -> SyntaxError {
        parse_rule(s).unwrap_err()
    }

    #[test]
    fn errors_say_what_was_expected_and_where() {
        let e = err("Deny if :a: = 1");
        assert_eq!(e.span.0, 0);
        assert!(e.message.contains("expected an action"), "{e:?}");
        let e = err("Block when :a: = 1");
        assert!(e.message.contains("expected `if`"), "{e:?}");
        assert_eq!(e.span.0, 6);
        let e = err("Block if :amount_in_usd: > ");
        assert!(e.message.contains("expected a value after `>`"), "{e:?}");
        assert_eq!(e.span.0, 27);
        let e = err("Block if (:a: = 1");
        assert!(e.message.contains("expected `)`"), "{e:?}");
        let e = err("Block if :a: IN 'x'");
        assert!(e.message.contains("expected a list after IN"), "{e:?}");
        let e = err("Block if :a: = 'x");
        assert!(e.message.contains("unterminated string"), "{e:?}");
        let e = err("Block if :a: = 1 :b:");
        assert!(e.message.contains("expected `AND`, `OR`"), "{e:?}");
        let e = err("Block if email = 'x'");
        assert!(e.message.contains("written `:name:`"), "{e:?}");
        let e = err("Block if :bad name: = 1");
        assert!(e.message.contains("`:name:`"), "{e:?}");
        let e = err("bad/name: Block if :a:");
        assert!(e.message.contains("rule name"), "{e:?}");
    }

    #[test]
    fn nesting_is_limited_with_the_place_of_the_first_level_too_many() {
        let nested = |n: usize| format!("Block if {}:a:{}", "(".repeat(n), ")".repeat(n));
        assert!(parse_rule(&nested(MAX_NESTING)).is_ok());
        let e = err(&nested(MAX_NESTING + 1));
        assert!(e.message.contains("nests too deeply"), "{e:?}");
        assert_eq!(e.span, (9 + MAX_NESTING, 10 + MAX_NESTING));
        let nots = format!("Block if {}:a:", "NOT ".repeat(MAX_NESTING + 1));
        assert!(err(&nots).message.contains("nests too deeply"));
        let mixed = format!("Block if {}:a:{}", "NOT (".repeat(20), ")".repeat(20));
        assert!(err(&mixed).message.contains("nests too deeply"));
        // Levels count where they are open, not in total.
        let wide = format!("Block if {}", vec!["((:a:))"; 500].join(" OR "));
        assert!(parse_rule(&wide).is_ok());
    }

    #[test]
    fn a_hundred_thousand_levels_are_refused_without_overflowing_the_stack() {
        // On a small stack, as a worker thread of a test harness has: the refusal must not need
        // the depth it refuses.
        let line = format!(
            "Block if {}:a: = 1{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        let e = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || parse_rule(&line).unwrap_err())
            .unwrap()
            .join()
            .unwrap();
        assert!(e.message.contains("nests too deeply"), "{e:?}");
        let line = format!("Block if {}:a:", "! ".repeat(100_000));
        assert!(parse_rule(&line).is_err());
    }

    #[test]
    fn the_deepest_allowed_rule_compiles_evaluates_explains_and_prints_on_a_small_stack() {
        use crate::{attributes::Attributes, lists::OfflineLists, rules::RuleSet};
        let half = MAX_NESTING / 2;
        let line = format!(
            "Block if {}:is_off_session: OR :amount_in_usd: > 1{}\n",
            "NOT (".repeat(half),
            ")".repeat(half)
        );
        std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || {
                let set = RuleSet::compile(&line, &OfflineLists).unwrap();
                let a = Attributes::default();
                let _ = set.evaluate(&a);
                assert_eq!(set.explain(&a).len(), 1);
                let printed = set.rules()[0].rule.to_string();
                assert_eq!(parse_rule(&printed).unwrap(), set.rules()[0].rule);
                let e = RuleSet::compile(
                    &format!("# deep\n{}", line.replace("NOT (", "NOT ((")),
                    &OfflineLists,
                )
                .unwrap_err();
                assert_eq!(e.0[0].line, 2);
                assert!(e.to_string().starts_with("2:"), "{e}");
                // A huge line is shown as an excerpt, with the caret under the mistake.
                let huge = format!("Block if {}:a:", "(".repeat(100_000));
                let e = RuleSet::compile(&huge, &OfflineLists)
                    .unwrap_err()
                    .to_string();
                assert!(e.len() < 400, "{} bytes", e.len());
                let lines: Vec<&str> = e.lines().collect();
                let caret = lines[2].find('^').unwrap();
                let shown = &lines[1][..caret];
                assert!(shown.ends_with('('), "{e}");
            })
            .unwrap()
            .join()
            .unwrap();
    }
}

#[cfg(test)]
mod roundtrip {
    //! Printing a parsed rule and parsing it again gives the same rule.

    use proptest::prelude::*;

    use super::*;

    fn ident() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_]{0,10}".prop_filter("`if` is a keyword", |s| s != "if")
    }

    fn operand() -> impl Strategy<Value = Operand> {
        prop_oneof![
            ident().prop_map(Operand::Attr),
            "((customer|destination|account|[a-z]{1,4}):)?[A-Za-z][A-Za-z0-9_ ]{0,8}[A-Za-z0-9_]"
                .prop_map(|k| Operand::Meta(MetaKey::parse(&k))),
            "[^\r\n]{0,12}".prop_map(Operand::Str),
            (-1.0e9f64..1.0e9).prop_map(Operand::Num),
            (-100_000i64..100_000).prop_map(|n| Operand::Num(n as f64)),
            any::<bool>().prop_map(Operand::Bool),
        ]
    }

    fn spanned<T>(node: T) -> Spanned<T> {
        Spanned::new(node, Span::default())
    }

    fn leaf() -> impl Strategy<Value = Expr> {
        let op = prop_oneof![
            Just(CmpOp::Eq),
            Just(CmpOp::Ne),
            Just(CmpOp::Lt),
            Just(CmpOp::Gt),
            Just(CmpOp::Le),
            Just(CmpOp::Ge),
            Just(CmpOp::Includes),
        ];
        prop_oneof![
            (operand(), op, operand()).prop_map(|(l, op, r)| Expr::Compare {
                lhs: spanned(l),
                op: spanned(op),
                rhs: spanned(Rhs::Operand(r)),
            }),
            // A LIKE pattern is kept as written: text without quotes or backslashes, and `\%`.
            (operand(), r"([^'\\\r\n]|\\%){0,10}").prop_map(|(l, raw)| Expr::Compare {
                lhs: spanned(l),
                op: spanned(CmpOp::Like),
                rhs: spanned(Rhs::Operand(Operand::Pattern(raw))),
            }),
            (operand(), prop::collection::vec(operand(), 1..4)).prop_map(|(l, items)| {
                Expr::Compare {
                    lhs: spanned(l),
                    op: spanned(CmpOp::In),
                    rhs: spanned(Rhs::List(items.into_iter().map(spanned).collect())),
                }
            }),
            (operand(), ident()).prop_map(|(l, alias)| Expr::Compare {
                lhs: spanned(l),
                op: spanned(CmpOp::In),
                rhs: spanned(Rhs::SavedList(alias)),
            }),
            operand().prop_map(|o| Expr::Truthy(spanned(o))),
            ident().prop_map(|a| Expr::IsMissing(spanned(Operand::Attr(a)))),
        ]
    }

    fn expr() -> impl Strategy<Value = Expr> {
        leaf().prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
    }

    fn rule() -> impl Strategy<Value = Rule> {
        let action = prop_oneof![
            Just(Action::RequestThreeDSecure),
            Just(Action::Continue),
            Just(Action::Block),
            Just(Action::Review),
        ];
        (proptest::option::of(ident()), action, expr()).prop_map(|(name, action, condition)| Rule {
            name,
            action,
            condition,
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn print_then_parse_is_identity(r in rule()) {
            let printed = r.to_string();
            let parsed = parse_rule(&printed)
                .unwrap_or_else(|e| panic!("{printed}\n{e:?}"));
            prop_assert_eq!(&parsed, &r, "{}", printed);
            prop_assert_eq!(parsed.to_string(), printed);
        }

        #[test]
        fn whatever_parses_prints_back_to_the_same_rule(
            line in "(Block|Review|Allow) if [ :a-zA-Z_'\"%\\\\()=!<>@,0-9.&|#-]{0,48}"
        ) {
            if let Ok(rule) = parse_rule(&line) {
                let printed = rule.to_string();
                let again = parse_rule(&printed)
                    .unwrap_or_else(|e| panic!("{line}\n{printed}\n{e:?}"));
                prop_assert_eq!(again, rule, "{}", printed);
            }
        }

        #[test]
        fn any_line_parses_or_errors_within_the_line(line in "[^\r\n]{0,60}") {
            if let Err(e) = parse_rule(&line) {
                prop_assert!(e.span.0 <= e.span.1 || e.span.1 <= line.len());
                prop_assert!(e.span.0 <= line.len());
            }
        }
    }
}
