//! Load-time checks, as Stripe's rules reference describes them ("Radar provides feedback if you
//! attempt to use an invalid condition"): names resolved, Boolean attributes used bare, countries
//! and states as codes, numbers against numbers, list items of the attribute's type, saved lists
//! of a fitting item type; and warnings for rules that load but cannot mean what they say.

use std::sync::Arc;

use super::{
    ast::{CmpOp, Expr, Operand, Rhs, Span, Spanned},
    compile::{Node, Src, attr_by_name, suggest},
    coverage::{Status, radar_attribute},
    eval::Like,
    types::{self, RuleType},
};
use crate::{
    attributes::Attr,
    lists::{ItemType, ListCell, ListLookup},
    reference::{FxTable, currency, is_country},
};

pub(super) type CompileResult<T> = Result<T, (Span, String)>;

/// The type of an operand as written.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Ty {
    /// An attribute (or another name for one), with its rule type.
    Attr(RuleType),
    /// Metadata: a string that reads as a number where compared with one; case-sensitive.
    Meta,
    Str,
    Num,
    Bool,
    Pattern,
}

impl Ty {
    fn describe(self) -> &'static str {
        match self {
            Ty::Attr(t) => t.describe(),
            Ty::Meta => "metadata",
            Ty::Str | Ty::Pattern => "a string",
            Ty::Num => "a number",
            Ty::Bool => "a Boolean",
        }
    }

    fn is_literal(self) -> bool {
        matches!(self, Ty::Str | Ty::Num | Ty::Bool | Ty::Pattern)
    }

    /// Strings of this side compare without regard to case.
    fn folds(self) -> bool {
        match self {
            Ty::Attr(t) => t.folds_case(),
            Ty::Str | Ty::Pattern => true,
            Ty::Meta | Ty::Num | Ty::Bool => false,
        }
    }

    fn is_text(self) -> bool {
        matches!(self, Ty::Attr(t) if t.is_text()) || self == Ty::Meta
    }
}

/// Attributes Stripe evaluates after authorization, and the request field riskgate reads them
/// from instead.
const POST_AUTHORIZATION: &[(Attr, &str)] = &[
    (
        Attr::CvcCheck,
        "payment_details.payment_method_details.card.checks.cvc_check",
    ),
    (
        Attr::AddressLine1Check,
        "payment_details.payment_method_details.card.checks.address_line1_check",
    ),
    (
        Attr::AddressZipCheck,
        "payment_details.payment_method_details.card.checks.address_postal_code_check",
    ),
];

/// Compiles one rule's condition, collecting warnings and the attributes it reads.
pub(super) struct Compiler<'l> {
    lists: &'l dyn ListLookup,
    fx: &'l FxTable,
    pub(super) warnings: Vec<(Span, String)>,
    pub(super) attributes: Vec<String>,
}

impl<'l> Compiler<'l> {
    pub(super) fn new(lists: &'l dyn ListLookup, fx: &'l FxTable) -> Self {
        Self {
            lists,
            fx,
            warnings: Vec::new(),
            attributes: Vec::new(),
        }
    }

    fn warn(&mut self, span: Span, message: String) {
        if !self.warnings.iter().any(|(_, m)| *m == message) {
            self.warnings.push((span, message));
        }
    }

    pub(super) fn expr(&mut self, e: &Expr) -> CompileResult<Node> {
        Ok(match e {
            Expr::Or(items) => Node::Or(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::And(items) => Node::And(
                items
                    .iter()
                    .map(|i| self.expr(i))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(inner) => Node::Not(Box::new(self.expr(inner)?)),
            Expr::IsMissing(o) => Node::Missing(self.operand(o)?.0, o.span),
            Expr::Truthy(o) => {
                let (src, ty) = self.operand(o)?;
                match ty {
                    Ty::Attr(RuleType::Bool { .. }) => Node::Truthy(src, o.span),
                    Ty::Meta => {
                        return Err((
                            o.span,
                            format!(
                                "{} is metadata, a string or a number, not a Boolean: compare it (`{} = 'true'`)",
                                o.node, o.node
                            ),
                        ));
                    }
                    Ty::Bool => return Err((o.span, no_boolean_literals())),
                    _ => {
                        return Err((
                            o.span,
                            format!(
                                "{} is {}: it needs a comparison (such as `{} = …`); only Boolean attributes stand alone",
                                o.node,
                                ty.describe(),
                                o.node
                            ),
                        ));
                    }
                }
            }
            Expr::Compare { lhs, op, rhs } => self.compare(lhs, op, rhs)?,
        })
    }

    /// The factor from USD to the currency of `amount_in_<cur>`, if `name` names a currency:
    /// `Ok(None)` when it does not, an error when the currency has no rate.
    fn amount_in(&self, name: &str, span: Span) -> CompileResult<Option<f64>> {
        let Some(cur) = name.strip_prefix("amount_in_").and_then(currency) else {
            return Ok(None);
        };
        match self.fx.rate(cur.code) {
            Some(usd_per_unit) => Ok(Some(1.0 / usd_per_unit)),
            None => Err((
                span,
                format!(
                    "`:{name}:` needs an FX rate for {code}: add `{code} = <USD per unit>` under [fx] in the configuration",
                    code = cur.code
                ),
            )),
        }
    }

    fn attribute(&mut self, name: &str, span: Span) -> CompileResult<(Src, Ty)> {
        if !self.attributes.iter().any(|a| a == name) {
            self.attributes.push(name.to_owned());
        }
        if let Some(attr) = attr_by_name(name) {
            let t = types::rule_type(attr);
            if let Some((_, field)) = POST_AUTHORIZATION.iter().find(|(a, _)| *a == attr) {
                self.warn(
                    span,
                    format!(
                        "Stripe evaluates :{name}: after authorization; before it riskgate reads the result of an earlier verification of the card from `{field}`, and without it the attribute is missing (the condition is not true)"
                    ),
                );
            }
            let src = match t {
                RuleType::Bool { absent_false: true } => Src::FalseIfAbsent(attr),
                _ => Src::Attr(attr),
            };
            return Ok((src, Ty::Attr(t)));
        }
        if let Some(factor) = self.amount_in(name, span)? {
            return Ok((
                Src::Scaled(Attr::AmountInUsd, factor, name.into()),
                Ty::Attr(RuleType::Number),
            ));
        }
        if let Some(code) = name.strip_prefix("amount_in_") {
            let hint = suggest(name)
                .map(|s| format!("; did you mean `:{s}:`?"))
                .unwrap_or_default();
            return Err((
                span,
                format!(
                    "unknown currency `{code}` in `:{name}:`: `:amount_in_<currency>:` takes a lower-case currency code riskgate supports (`:amount_in_eur:`, `:amount_in_gbp:` …){hint}"
                ),
            ));
        }
        let Some(radar) = radar_attribute(name) else {
            let hint = suggest(name)
                .map(|s| format!("; did you mean `:{s}:`?"))
                .unwrap_or_else(|| "; `riskgate rules attributes` lists every attribute".into());
            return Err((span, format!("unknown attribute `:{name}:`{hint}")));
        };
        match radar.status {
            Status::Alias(target) => {
                let attr = attr_by_name(target).expect("aliases name catalog attributes");
                Ok((
                    Src::Alias(attr, name.into()),
                    Ty::Attr(types::rule_type(attr)),
                ))
            }
            Status::CardOnly(why) => {
                self.warn(span, format!(":{name}: is always missing: {why}"));
                Ok((Src::Absent(name.into()), Ty::Attr(radar.rule_type())))
            }
            Status::Planned(needs) => Err((
                span,
                format!("`:{name}:` is a Radar attribute riskgate does not compute yet: {needs}"),
            )),
            Status::Refused(why) => Err((
                span,
                format!("`:{name}:` cannot apply before authorization in riskgate: {why}"),
            )),
            Status::Special(how) => {
                Err((span, format!("`:{name}:` is written another way: {how}")))
            }
            Status::Catalog(_) => Err((
                span,
                format!("`:{name}:` is missing from the catalog (radar_attributes.tsv is stale)"),
            )),
        }
    }

    fn operand(&mut self, o: &Spanned<Operand>) -> CompileResult<(Src, Ty)> {
        Ok(match &o.node {
            Operand::Attr(name) => self.attribute(name, o.span)?,
            Operand::Meta(k) => (Src::Meta(k.clone()), Ty::Meta),
            Operand::Str(s) => (Src::Text(s.as_str().into()), Ty::Str),
            Operand::Pattern(raw) => (Src::Text(raw.as_str().into()), Ty::Pattern),
            Operand::Num(n) => (Src::Num(*n), Ty::Num),
            Operand::Bool(_) => (Src::Num(f64::NAN), Ty::Bool),
        })
    }

    fn compare(
        &mut self,
        lhs: &Spanned<Operand>,
        op: &Spanned<CmpOp>,
        rhs: &Spanned<Rhs>,
    ) -> CompileResult<Node> {
        let (l, lt) = self.operand(lhs)?;
        let span = lhs.span.to(rhs.span);
        if lt == Ty::Bool {
            return Err((lhs.span, no_boolean_literals()));
        }
        if lt.is_literal() {
            return Err((
                lhs.span,
                "a condition starts with an attribute (`:name:`) or a metadata key (`::key::`), then the operator and the value".into(),
            ));
        }
        if let Ty::Attr(RuleType::Bool { .. }) = lt {
            return Err((
                op.span,
                format!(
                    "{a} is a Boolean: Boolean attributes take no operator or value; write `{a}` or `NOT {a}`",
                    a = lhs.node
                ),
            ));
        }
        match (&op.node, &rhs.node) {
            (CmpOp::In, Rhs::SavedList(alias)) => {
                self.saved_list(lhs, &l, lt, alias, rhs.span, span)
            }
            (_, Rhs::SavedList(alias)) => Err((
                op.span,
                format!(
                    "a list is used with IN: `{} IN @{alias}` (`{}` does not take a list)",
                    lhs.node,
                    op.node.as_str()
                ),
            )),
            (CmpOp::In, Rhs::List(items)) => {
                let mut out = Vec::with_capacity(items.len());
                let mut fold = lt.folds();
                for item in items {
                    let (src, ty) = self.operand(item)?;
                    if ty == Ty::Bool {
                        return Err((item.span, no_boolean_literals()));
                    }
                    if !ty.is_literal() {
                        return Err((
                            item.span,
                            "expected a string or number in the list (a list holds values, not attributes)".into(),
                        ));
                    }
                    self.value(lhs, lt, item, ty, CmpOp::In)?;
                    fold &= ty.folds();
                    out.push(src);
                }
                Ok(Node::InSet {
                    l,
                    items: out.into(),
                    fold,
                    span,
                })
            }
            (_, Rhs::List(_)) => Err((
                op.span,
                format!("expected IN before a list, found `{}`", op.node.as_str()),
            )),
            (op_kind, Rhs::Operand(r)) => {
                let r_spanned = Spanned::new(r.clone(), rhs.span);
                let (r_src, rt) = self.operand(&r_spanned)?;
                if rt == Ty::Bool {
                    return Err((rhs.span, no_boolean_literals()));
                }
                if let Ty::Attr(RuleType::Bool { .. }) = rt {
                    return Err((
                        rhs.span,
                        format!(
                            "{r} is a Boolean: Boolean attributes are not compared; use `{r}` or `NOT {r}` as a condition of its own"
                        ),
                    ));
                }
                let fold = lt.folds() && rt.folds();
                match op_kind {
                    CmpOp::Like => {
                        if !lt.is_text() {
                            return Err(strings_only(lhs, op, lt));
                        }
                        let Src::Text(raw) = &r_src else {
                            return Err((
                                rhs.span,
                                "expected a string pattern after LIKE, such as '%@example.com'"
                                    .into(),
                            ));
                        };
                        Ok(Node::Like {
                            l,
                            like: Like::new(raw),
                            fold,
                            span,
                        })
                    }
                    CmpOp::Includes => {
                        if !lt.is_text() {
                            return Err(strings_only(lhs, op, lt));
                        }
                        if !(rt == Ty::Str || rt.is_text()) {
                            return Err((
                                rhs.span,
                                format!(
                                    "INCLUDES looks for a string: `{} INCLUDES 'text'`",
                                    lhs.node
                                ),
                            ));
                        }
                        Ok(Node::Includes {
                            l,
                            r: r_src,
                            fold,
                            span,
                        })
                    }
                    CmpOp::Eq | CmpOp::Ne => {
                        self.value(lhs, lt, &r_spanned, rt, *op_kind)?;
                        Ok(Node::Cmp {
                            l,
                            op: *op_kind,
                            r: r_src,
                            fold,
                            span,
                        })
                    }
                    CmpOp::Lt | CmpOp::Gt | CmpOp::Le | CmpOp::Ge => {
                        if !matches!(lt, Ty::Attr(RuleType::Number) | Ty::Meta) {
                            return Err((
                                op.span,
                                format!(
                                    "{} is {}: string values can only use =, != (and IN, INCLUDES, LIKE); `{}` compares numbers",
                                    lhs.node,
                                    lt.describe(),
                                    op.node.as_str()
                                ),
                            ));
                        }
                        if !matches!(rt, Ty::Num | Ty::Meta | Ty::Attr(RuleType::Number)) {
                            return Err((
                                rhs.span,
                                format!(
                                    "{r} is {}; `{}` compares numbers",
                                    rt.describe(),
                                    op.node.as_str()
                                ),
                            ));
                        }
                        if let (Src::Attr(a) | Src::Alias(a, _), Src::Num(n)) = (&l, &r_src) {
                            self.bounded(*a, *op_kind, *n, &lhs.node, span);
                        }
                        Ok(Node::Cmp {
                            l,
                            op: *op_kind,
                            r: r_src,
                            fold: false,
                            span,
                        })
                    }
                    CmpOp::In => unreachable!("IN takes a list; the parser refuses anything else"),
                }
            }
        }
    }

    /// Checks a value compared with `=`, `!=` or listed after IN against the attribute's type.
    fn value(
        &mut self,
        lhs: &Spanned<Operand>,
        lt: Ty,
        v: &Spanned<Operand>,
        vt: Ty,
        op: CmpOp,
    ) -> CompileResult<()> {
        let mismatch = || {
            Err((
                v.span,
                format!(
                    "{} is {}, but {} is {}",
                    lhs.node,
                    lt.describe(),
                    v.node,
                    vt.describe()
                ),
            ))
        };
        let Ty::Attr(t) = lt else {
            // Metadata compares with strings, numbers and any attribute but a Boolean.
            return Ok(());
        };
        match (t, vt) {
            (_, Ty::Meta) => Ok(()),
            (RuleType::Number, Ty::Num | Ty::Attr(RuleType::Number)) => Ok(()),
            (RuleType::Number, _) => mismatch(),
            (RuleType::Country, Ty::Str) => match &v.node {
                Operand::Str(s) if is_country(&s.to_ascii_uppercase()) => Ok(()),
                _ => Err((
                    v.span,
                    format!(
                        "country values are two-letter ISO 3166-1 codes ('CA', 'us'): {} is not one",
                        v.node
                    ),
                )),
            },
            (RuleType::Country, Ty::Attr(RuleType::Country)) => Ok(()),
            (RuleType::State, Ty::Str) => match &v.node {
                Operand::Str(s) if types::is_state_code(s) => Ok(()),
                Operand::Str(s) => {
                    let hint = s
                        .split_once('-')
                        .filter(|(c, sub)| c.len() == 2 && types::is_state_code(sub))
                        .map(|(_, sub)| format!(" (write '{sub}')"))
                        .unwrap_or_default();
                    Err((
                        v.span,
                        format!(
                            "state values are the ISO 3166-2 subdivision code without the country, one to three letters or digits ('CA', 'ENG'): {} is not one{hint}",
                            v.node
                        ),
                    ))
                }
                _ => mismatch(),
            },
            (RuleType::State, Ty::Attr(RuleType::State | RuleType::Text { .. })) => Ok(()),
            (RuleType::Text { .. }, Ty::Str) => {
                self.vocabulary(lhs, v, op);
                Ok(())
            }
            (RuleType::Text { .. }, Ty::Attr(RuleType::Text { .. } | RuleType::State)) => Ok(()),
            _ => mismatch(),
        }
    }

    /// Warns about a string outside the values Stripe documents for an enumerated attribute.
    fn vocabulary(&mut self, lhs: &Spanned<Operand>, v: &Spanned<Operand>, op: CmpOp) {
        let (Operand::Attr(name), Operand::Str(value)) = (&lhs.node, &v.node) else {
            return;
        };
        let Some(attr) = attr_by_name(name) else {
            return;
        };
        let Some(values) = types::documented_values(attr) else {
            return;
        };
        let exact = types::rule_type(attr) == RuleType::Text { exact: true };
        if values.iter().any(|d| {
            if exact {
                d == value
            } else {
                d.eq_ignore_ascii_case(value)
            }
        }) {
            return;
        }
        let advice = types::radar_spelling(attr, value)
            .map(|w| format!("; Radar and riskgate write '{w}'"))
            .unwrap_or_default();
        let outcome = match op {
            CmpOp::Ne => "this comparison is always true when the attribute is present",
            CmpOp::In => "this item never matches",
            _ => "this comparison is never true",
        };
        self.warn(
            v.span,
            format!(
                "'{value}' is not one of the values Stripe documents for :{name}: ({}), so {outcome}{advice}",
                values.join(", ")
            ),
        );
    }

    /// Warns about a comparison beyond the cap of a bounded counter.
    fn bounded(&mut self, attr: Attr, op: CmpOp, n: f64, written: &Operand, span: Span) {
        let Some(max) = types::bound(attr) else {
            return;
        };
        let never = match op {
            CmpOp::Gt => n >= max,
            CmpOp::Ge => n > max,
            _ => false,
        };
        if never {
            self.warn(
                span,
                format!(
                    "never true: {written} counts at most {max} (Radar's bounded counters stop at 25, and so do riskgate's)"
                ),
            );
        }
    }

    fn saved_list(
        &mut self,
        lhs: &Spanned<Operand>,
        l: &Src,
        lt: Ty,
        alias: &str,
        rhs_span: Span,
        span: Span,
    ) -> CompileResult<Node> {
        if !lt.is_text() {
            return Err((
                lhs.span,
                format!(
                    "{} is {}; value lists hold strings (ids, emails, countries, IP addresses …)",
                    lhs.node,
                    lt.describe()
                ),
            ));
        }
        let cell: Arc<ListCell> = self.lists.lookup(alias).ok_or_else(|| {
            (
                rhs_span,
                format!("unknown list `@{alias}`: create it with CreateValueList first"),
            )
        })?;
        if let Some(item_type) = cell.item_type()
            && !list_fits(item_type, lhs, l)
        {
            return Err((
                rhs_span,
                format!(
                    "list @{alias} holds {} items; {} is {}: use a list whose item type fits the attribute",
                    item_type.as_str(),
                    lhs.node,
                    lt.describe()
                ),
            ));
        }
        Ok(Node::InList(l.clone(), cell, span))
    }
}

/// Whether a list of `item_type` can hold values of the attribute (metadata fits any list).
fn list_fits(item_type: ItemType, lhs: &Spanned<Operand>, l: &Src) -> bool {
    let name = match &lhs.node {
        Operand::Attr(name) => name.as_str(),
        _ => return true,
    };
    let attr = match l {
        Src::Attr(a) | Src::Alias(a, _) => Some(*a),
        _ => None,
    };
    match item_type {
        ItemType::String | ItemType::CaseSensitiveString => true,
        ItemType::Country => attr.is_some_and(|a| types::rule_type(a) == RuleType::Country),
        ItemType::Email => attr == Some(Attr::Email),
        ItemType::CardBin => attr == Some(Attr::CardBin),
        ItemType::CardFingerprint => attr == Some(Attr::CardFingerprint),
        ItemType::CustomerId => attr == Some(Attr::Customer),
        ItemType::IpAddress => attr == Some(Attr::IpAddress),
        ItemType::Account => matches!(attr, Some(Attr::Account | Attr::Destination)),
        ItemType::SepaDebitFingerprint => name == "sepa_debit_fingerprint",
        ItemType::UsBankAccountFingerprint => name == "us_bank_account_fingerprint",
        ItemType::CryptoFingerprint => name == "crypto_fingerprint",
    }
}

fn no_boolean_literals() -> String {
    "`true` and `false` are not values in Radar's rule language: write a Boolean attribute alone (`:is_3d_secure:`) or with NOT (`NOT :is_3d_secure:`)".into()
}

fn strings_only(lhs: &Spanned<Operand>, op: &Spanned<CmpOp>, lt: Ty) -> (Span, String) {
    (
        op.span,
        format!(
            "{} is {}; `{}` applies to strings only",
            lhs.node,
            lt.describe(),
            op.node.as_str()
        ),
    )
}
