//! What the transcript says, laid out into pages.

use emrex_elmo::{
    Elmo, LearningOpportunitySpecification, LoiStatus, Report, dates::parse_date, pick_lang,
};

use emrex_i18n::Lang;

use crate::TranscriptOptions;
use crate::credits::CreditSum;
use crate::fonts::{Fonts, Style};
use crate::labels::{Labels, labels};
use crate::layout::{CONTENT_BOTTOM, CONTENT_WIDTH, MARGIN_TOP, MARGIN_X, Op, Page, wrap};

const TITLE_SIZE: f32 = 18.0;
const NAME_SIZE: f32 = 14.0;
const ISSUER_SIZE: f32 = 12.0;
const BODY_SIZE: f32 = 10.0;
const TABLE_SIZE: f32 = 9.0;
/// Baseline-to-baseline distance as a multiple of the font size.
const LEADING: f32 = 1.3;
/// Space above and below the text of a table row.
const ROW_PAD: f32 = 2.5;
/// Indentation of a nested learning opportunity per level of `hasPart`, and the deepest level
/// indented (deeper ones line up with it so titles keep some room).
const INDENT: f32 = 8.0;
const MAX_INDENT_LEVELS: usize = 6;
/// Lines a course title may take before it is cut with "…".
const MAX_TITLE_LINES: usize = 4;
/// Learner identifiers printed; more are summarized as "… and N more".
const MAX_LEARNER_IDENTIFIERS: usize = 20;

const GAP: f32 = 6.0;
const COLUMN_GAP: f32 = 6.0;
const DATE_WIDTH: f32 = 62.0;
const RESULT_WIDTH: f32 = 60.0;
/// Wide enough for "nicht bestanden" and "non validé" on one line.
const STATUS_WIDTH: f32 = 84.0;
const CREDITS_WIDTH: f32 = 40.0;
const TITLE_WIDTH: f32 =
    CONTENT_WIDTH - DATE_WIDTH - RESULT_WIDTH - STATUS_WIDTH - CREDITS_WIDTH - 4.0 * COLUMN_GAP;
const DATE_X: f32 = MARGIN_X + TITLE_WIDTH + COLUMN_GAP;
const RESULT_X: f32 = DATE_X + DATE_WIDTH + COLUMN_GAP;
const STATUS_X: f32 = RESULT_X + RESULT_WIDTH + COLUMN_GAP;
const CREDITS_RIGHT: f32 = MARGIN_X + CONTENT_WIDTH;

/// Lays out the whole transcript. Limits were checked by the caller.
pub(crate) fn layout_transcript(elmo: &Elmo, opts: &TranscriptOptions, fonts: &Fonts) -> Vec<Page> {
    let (l, lang) = labels(&opts.lang);
    let mut w = Writer::new(fonts, l, lang);
    w.paragraph(l.title, TITLE_SIZE, Style::Bold, MARGIN_X, CONTENT_WIDTH, 2);
    w.space(GAP);
    learner(&mut w, elmo);
    for report in &elmo.reports {
        w.space(2.0 * GAP);
        report_block(&mut w, report, &opts.lang);
    }
    if elmo.reports.is_empty() {
        w.space(2.0 * GAP);
        w.paragraph(
            l.no_reports,
            BODY_SIZE,
            Style::Regular,
            MARGIN_X,
            CONTENT_WIDTH,
            1,
        );
    }
    w.finish()
}

fn learner(w: &mut Writer<'_>, elmo: &Elmo) {
    let (t, lang) = (w.labels, w.lang);
    let l = &elmo.learner;
    let name = [l.given_names.trim(), l.family_name.trim()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let name = if name.is_empty() {
        t.name_not_given.to_string()
    } else {
        name
    };
    w.paragraph(&name, NAME_SIZE, Style::Bold, MARGIN_X, CONTENT_WIDTH, 3);
    if let Some(alt) = &l.alternative_name {
        w.paragraph(
            &alt.text,
            BODY_SIZE,
            Style::Regular,
            MARGIN_X,
            CONTENT_WIDTH,
            2,
        );
    }
    if let Some(bday) = l.bday.as_deref().filter(|s| !s.trim().is_empty()) {
        w.paragraph(
            &format!("{}: {}", t.date_of_birth, lang.date(bday)),
            BODY_SIZE,
            Style::Regular,
            MARGIN_X,
            CONTENT_WIDTH,
            1,
        );
    }
    if let Some(c) = l.citizenship.as_deref().filter(|s| !s.trim().is_empty()) {
        w.paragraph(
            &format!("{}: {c}", t.citizenship),
            BODY_SIZE,
            Style::Regular,
            MARGIN_X,
            CONTENT_WIDTH,
            1,
        );
    }
    if !l.identifiers.is_empty() {
        let mut ids: Vec<String> = l
            .identifiers
            .iter()
            .take(MAX_LEARNER_IDENTIFIERS)
            .map(|i| format!("{} {}", i.id_type, i.value))
            .collect();
        if l.identifiers.len() > MAX_LEARNER_IDENTIFIERS {
            ids.push(t.and_more.replace(
                "{n}",
                &(l.identifiers.len() - MAX_LEARNER_IDENTIFIERS).to_string(),
            ));
        }
        w.paragraph(
            &format!("{}: {}", t.identifiers, ids.join("; ")),
            BODY_SIZE,
            Style::Regular,
            MARGIN_X,
            CONTENT_WIDTH,
            6,
        );
    }
}

/// One row of the learning-opportunity table.
struct Row<'a> {
    depth: usize,
    los: &'a LearningOpportunitySpecification,
}

fn report_block(w: &mut Writer<'_>, report: &Report, lang: &str) {
    let t = w.labels;
    let issuer = pick_lang(&report.issuer.titles, lang).unwrap_or(t.issuer_not_named);
    let mut facts = Vec::new();
    if let Some(c) = report.issuer.country.as_deref().filter(|c| !c.is_empty()) {
        facts.push(format!("{}: {c}", t.country));
    }
    if !report.issue_date.is_empty() {
        facts.push(format!(
            "{}: {}",
            t.issued,
            w.lang.date(&display_date(&report.issue_date))
        ));
    }
    let rows = rows(report);
    let totals = passed_ects(&rows);

    // Keep the heading with the table header and the first row.
    let heading_lines = wrap_for(w, issuer, ISSUER_SIZE, Style::Bold, CONTENT_WIDTH, 3).len();
    let need = heading_lines as f32 * ISSUER_SIZE * LEADING
        + BODY_SIZE * LEADING
        + 3.0 * TABLE_SIZE * LEADING
        + 4.0 * ROW_PAD;
    w.keep(need);
    w.paragraph(issuer, ISSUER_SIZE, Style::Bold, MARGIN_X, CONTENT_WIDTH, 3);
    if !facts.is_empty() {
        w.paragraph(
            &facts.join(" · "),
            BODY_SIZE,
            Style::Regular,
            MARGIN_X,
            CONTENT_WIDTH,
            2,
        );
    }
    w.space(GAP / 2.0);
    if rows.is_empty() {
        w.paragraph(
            t.no_learning_opportunities,
            TABLE_SIZE,
            Style::Regular,
            MARGIN_X,
            CONTENT_WIDTH,
            1,
        );
        return;
    }
    table_header(w);
    for row in &rows {
        table_row(w, row, lang, issuer);
    }
    w.rule(0.6, 120);
    w.space(ROW_PAD);
    w.keep(TABLE_SIZE * LEADING);
    let total = format!(
        "{}: {}",
        t.total_passed,
        w.lang.decimal(&totals.to_string())
    );
    w.line_right(&total, TABLE_SIZE, Style::Bold, CREDITS_RIGHT);
}

/// The learning opportunities depth first (the order of `Report::all_learning_opportunities`)
/// with their depth in the `hasPart` tree, for indentation.
fn rows(report: &Report) -> Vec<Row<'_>> {
    let mut out = Vec::new();
    let mut stack: Vec<Row<'_>> = report
        .learning_opportunities
        .iter()
        .rev()
        .map(|los| Row { depth: 0, los })
        .collect();
    while let Some(row) = stack.pop() {
        stack.extend(row.los.has_part.iter().rev().map(|los| Row {
            depth: row.depth + 1,
            los,
        }));
        out.push(row);
    }
    out
}

fn ects_value(los: &LearningOpportunitySpecification) -> Option<&str> {
    los.specifies
        .as_ref()?
        .credits
        .iter()
        .find(|c| c.is_ects())
        .and_then(|c| c.value.as_deref())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn is_passed(los: &LearningOpportunitySpecification) -> bool {
    los.specifies
        .as_ref()
        .is_some_and(|i| i.effective_status() == LoiStatus::Passed)
}

/// ECTS credits of passed learning opportunities, each credit counted once: a passed node's
/// own credits count unless one of its passed descendants carries ECTS credits (then the
/// descendants are counted instead). ELMO lets a degree carry its total *and* its courses carry
/// theirs; summing both would double the figure.
fn passed_ects(rows: &[Row<'_>]) -> CreditSum {
    // In pre-order, the descendants of rows[i] are the following rows deeper than it; walking
    // backwards, every descendant is seen before its ancestor.
    let mut sum = CreditSum::default();
    // covered[d]: a passed node with ECTS exists in the subtree currently open at depth d.
    let mut covered: Vec<bool> = Vec::new();
    for row in rows.iter().rev() {
        let d = row.depth;
        if covered.len() <= d + 1 {
            covered.resize(d + 2, false);
        }
        let below = covered[d + 1];
        // Children of this node are consumed; the slots deeper than d are closed now.
        for c in covered.iter_mut().skip(d + 1) {
            *c = false;
        }
        let own = is_passed(row.los)
            .then(|| ects_value(row.los))
            .flatten()
            .filter(|v| !below && sum.add(v))
            .is_some();
        covered[d] = covered[d] || below || own;
    }
    sum
}

fn status_label(los: &LearningOpportunitySpecification, t: &Labels) -> String {
    match los.specifies.as_ref().map(|i| i.effective_status()) {
        None => String::new(),
        Some(LoiStatus::Passed) => t.passed.into(),
        Some(LoiStatus::Failed) => t.failed.into(),
        Some(LoiStatus::InProgress) => t.in_progress.into(),
        Some(LoiStatus::Other(s)) => s,
    }
}

fn credit_label(los: &LearningOpportunitySpecification, lang: Lang) -> String {
    if let Some(v) = ects_value(los) {
        return lang.decimal(v);
    }
    // No ECTS: show another scheme's value with its name rather than nothing.
    los.specifies
        .as_ref()
        .and_then(|i| i.credits.iter().find(|c| c.value.is_some()))
        .and_then(|c| {
            Some(format!(
                "{} {}",
                lang.decimal(c.value.as_deref()?),
                c.scheme
            ))
        })
        .unwrap_or_default()
}

/// `YYYY-MM-DD` of an `xs:date`/`xs:dateTime`, or the text as written when it is neither.
fn display_date(s: &str) -> String {
    let s = s.trim();
    let date_part = s.split_once('T').map_or(s, |(d, _)| d);
    match parse_date(date_part) {
        Some(_) => date_part.get(..10).unwrap_or(date_part).to_string(),
        None => s.to_string(),
    }
}

fn wrap_for(
    w: &Writer<'_>,
    text: &str,
    size: f32,
    style: Style,
    width: f32,
    max_lines: usize,
) -> Vec<String> {
    let face = w.fonts.face(style);
    let text = face.sanitize(text);
    wrap(&text, width, max_lines, &|s| face.width(s, size))
}

fn table_header(w: &mut Writer<'_>) {
    let t = w.labels;
    let h = TABLE_SIZE * LEADING + 2.0 * ROW_PAD;
    w.keep(h);
    let base = w.y + ROW_PAD + TABLE_SIZE;
    let s = Style::Bold;
    w.text_at(
        MARGIN_X,
        base,
        t.col_learning_opportunity,
        TABLE_SIZE,
        s,
        TITLE_WIDTH,
    );
    w.text_at(DATE_X, base, t.col_date, TABLE_SIZE, s, DATE_WIDTH);
    w.text_at(RESULT_X, base, t.col_result, TABLE_SIZE, s, RESULT_WIDTH);
    w.text_at(STATUS_X, base, t.col_status, TABLE_SIZE, s, STATUS_WIDTH);
    w.text_right(
        CREDITS_RIGHT,
        base,
        t.col_ects,
        TABLE_SIZE,
        s,
        CREDITS_WIDTH,
    );
    w.y += h;
    w.rule(0.6, 120);
}

fn table_row(w: &mut Writer<'_>, row: &Row<'_>, lang: &str, issuer: &str) {
    let (t, page_lang) = (w.labels, w.lang);
    let los = row.los;
    let indent = row.depth.min(MAX_INDENT_LEVELS) as f32 * INDENT;
    let style = if los.has_part.is_empty() {
        Style::Regular
    } else {
        Style::Bold
    };
    let title = pick_lang(&los.titles, lang)
        .or_else(|| los.identifiers.first().map(|i| i.value.as_str()))
        .unwrap_or(t.untitled);
    let title_lines = wrap_for(
        w,
        title,
        TABLE_SIZE,
        style,
        TITLE_WIDTH - indent,
        MAX_TITLE_LINES,
    );
    let inst = los.specifies.as_ref();
    let date = inst
        .and_then(|i| i.date.as_deref().or(i.start.as_deref()))
        .map(|d| page_lang.date(&display_date(d)))
        .unwrap_or_default();
    let result = inst
        .and_then(|i| i.result_label.as_deref())
        .unwrap_or_default();
    let result_lines = wrap_for(w, result, TABLE_SIZE, Style::Regular, RESULT_WIDTH, 2);
    let status_lines = wrap_for(
        w,
        &status_label(los, t),
        TABLE_SIZE,
        Style::Regular,
        STATUS_WIDTH,
        2,
    );
    let lines = title_lines
        .len()
        .max(result_lines.len())
        .max(status_lines.len())
        .max(1);
    let line_h = TABLE_SIZE * LEADING;
    let h = lines as f32 * line_h + 2.0 * ROW_PAD;
    if w.y + h > CONTENT_BOTTOM {
        w.new_page();
        w.paragraph(
            &format!("{issuer} ({})", t.continued),
            BODY_SIZE,
            Style::Bold,
            MARGIN_X,
            CONTENT_WIDTH,
            1,
        );
        w.space(GAP / 2.0);
        table_header(w);
    }
    let base = w.y + ROW_PAD + TABLE_SIZE;
    for (i, l) in title_lines.iter().enumerate() {
        w.push_text(
            MARGIN_X + indent,
            base + i as f32 * line_h,
            l,
            TABLE_SIZE,
            style,
        );
    }
    w.text_at(DATE_X, base, &date, TABLE_SIZE, Style::Regular, DATE_WIDTH);
    for (i, l) in result_lines.iter().enumerate() {
        w.push_text(
            RESULT_X,
            base + i as f32 * line_h,
            l,
            TABLE_SIZE,
            Style::Regular,
        );
    }
    for (i, l) in status_lines.iter().enumerate() {
        w.push_text(
            STATUS_X,
            base + i as f32 * line_h,
            l,
            TABLE_SIZE,
            Style::Regular,
        );
    }
    w.text_right(
        CREDITS_RIGHT,
        base,
        &credit_label(los, page_lang),
        TABLE_SIZE,
        Style::Regular,
        CREDITS_WIDTH,
    );
    w.y += h;
    w.rule(0.3, 200);
}

/// A cursor over pages: places text and rules top to bottom and starts a new page when the
/// next thing would cross [`CONTENT_BOTTOM`].
struct Writer<'f> {
    fonts: &'f Fonts,
    /// The transcript's own words, in the PDF's language.
    labels: &'static Labels,
    /// How numbers and dates are written.
    lang: Lang,
    pages: Vec<Page>,
    /// Top of the free space on the current page.
    y: f32,
}

impl<'f> Writer<'f> {
    fn new(fonts: &'f Fonts, labels: &'static Labels, lang: Lang) -> Self {
        Self {
            fonts,
            labels,
            lang,
            pages: vec![Page::default()],
            y: MARGIN_TOP,
        }
    }

    fn finish(self) -> Vec<Page> {
        self.pages
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = MARGIN_TOP;
    }

    /// Starts a new page unless `height` points still fit on this one (and this page has
    /// content: a block taller than a page is split rather than pushed forever).
    fn keep(&mut self, height: f32) {
        let has_content = self.pages.last().is_some_and(|p| !p.ops.is_empty());
        if self.y + height > CONTENT_BOTTOM && has_content {
            self.new_page();
        }
    }

    fn space(&mut self, h: f32) {
        // Vertical space at the top of a page is dropped.
        if self.y > MARGIN_TOP {
            self.y += h;
        }
    }

    fn push_text(&mut self, x: f32, y: f32, text: &str, size: f32, style: Style) {
        if text.is_empty() {
            return;
        }
        if let Some(page) = self.pages.last_mut() {
            page.ops.push(Op::Text {
                x,
                y,
                size,
                style,
                text: text.to_string(),
            });
        }
    }

    /// One line at (`x`, baseline `y`), cut with "…" to `width`.
    fn text_at(&mut self, x: f32, y: f32, text: &str, size: f32, style: Style, width: f32) {
        let line = wrap_for(self, text, size, style, width, 1);
        if let Some(line) = line.first() {
            self.push_text(x, y, line, size, style);
        }
    }

    /// One line ending at `right` (baseline `y`), cut with "…" to `width`.
    fn text_right(&mut self, right: f32, y: f32, text: &str, size: f32, style: Style, width: f32) {
        let line = wrap_for(self, text, size, style, width, 1);
        if let Some(line) = line.first() {
            let w = self.fonts.face(style).width(line, size);
            self.push_text(right - w, y, line, size, style);
        }
    }

    /// A line of text right-aligned at `right` on the current line, advancing the cursor.
    fn line_right(&mut self, text: &str, size: f32, style: Style, right: f32) {
        let base = self.y + size;
        self.text_right(right, base, text, size, style, CONTENT_WIDTH);
        self.y += size * LEADING;
    }

    /// Wrapped text starting at `x`, at most `max_lines` lines, breaking pages between lines.
    fn paragraph(
        &mut self,
        text: &str,
        size: f32,
        style: Style,
        x: f32,
        width: f32,
        max_lines: usize,
    ) {
        for line in wrap_for(self, text, size, style, width, max_lines) {
            let h = size * LEADING;
            self.keep(h);
            let base = self.y + size;
            self.push_text(x, base, &line, size, style);
            self.y += h;
        }
    }

    fn rule(&mut self, width: f32, grey: u8) {
        let y = self.y;
        if let Some(page) = self.pages.last_mut() {
            page.ops.push(Op::Rule {
                x1: MARGIN_X,
                x2: MARGIN_X + CONTENT_WIDTH,
                y,
                width,
                grey,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use emrex_elmo::{
        Credit, Identifier, Issuer, LangText, Learner, LearningOpportunityInstance,
        LearningOpportunitySpecification as Los,
    };

    use super::*;

    fn loi(status: LoiStatus, ects: &str) -> LearningOpportunityInstance {
        LearningOpportunityInstance::default()
            .with_status(status)
            .with_credit(Credit::ects(ects))
    }

    fn report(los: Vec<Los>) -> Report {
        let issuer = Issuer::new(
            LangText::new("Universitetet i Oslo"),
            Identifier::new("schac", "uio.no"),
            "https://www.uio.no",
        );
        los.into_iter()
            .fold(Report::new(issuer, "2024-06-01T12:00:00Z"), |r, l| {
                r.with_learning_opportunity(l)
            })
    }

    #[test]
    fn ects_total_counts_passed_only() {
        let r = report(vec![
            Los::course("1", LangText::new("A"), loi(LoiStatus::Passed, "7.5")),
            Los::course("2", LangText::new("B"), loi(LoiStatus::Failed, "10")),
            Los::course("3", LangText::new("C"), loi(LoiStatus::InProgress, "5")),
            Los::course("4", LangText::new("D"), loi(LoiStatus::Passed, "2.5")),
        ]);
        assert_eq!(passed_ects(&rows(&r)).to_string(), "10");
    }

    #[test]
    fn ects_total_does_not_count_a_degree_and_its_courses_twice() {
        let degree = Los::new(LangText::new("Bachelor"), loi(LoiStatus::Passed, "180"))
            .with_part(Los::course(
                "1",
                LangText::new("A"),
                loi(LoiStatus::Passed, "7.5"),
            ))
            .with_part(
                Los::new(LangText::new("Module"), loi(LoiStatus::Passed, "20"))
                    .with_part(Los::course(
                        "2",
                        LangText::new("B"),
                        loi(LoiStatus::Passed, "10"),
                    ))
                    .with_part(Los::course(
                        "3",
                        LangText::new("C"),
                        loi(LoiStatus::Failed, "10"),
                    )),
            );
        // A module without ECTS-carrying passed children counts itself.
        let other = Los::new(LangText::new("Module 2"), loi(LoiStatus::Passed, "15")).with_part(
            Los::course("4", LangText::new("D"), loi(LoiStatus::InProgress, "15")),
        );
        let r = report(vec![degree, other]);
        let rows = rows(&r);
        assert_eq!(
            rows.iter().map(|r| r.depth).collect::<Vec<_>>(),
            [0, 1, 1, 2, 2, 0, 1]
        );
        assert_eq!(passed_ects(&rows).to_string(), "32.5");
    }

    #[test]
    fn a_german_transcript_speaks_german_with_german_numbers() {
        let fonts = Fonts::load().expect("font");
        let r = report(vec![
            Los::course(
                "1",
                LangText::new("Algebra"),
                loi(LoiStatus::Passed, "7.5").with_date("2026-01-15"),
            ),
            Los::course("2", LangText::new("B"), loi(LoiStatus::Failed, "10")),
        ]);
        let elmo = Elmo::new(
            Learner::new("Åsa", "Ødegård").with_bday("1999-04-12"),
            "2024-06-01T12:00:00Z",
        )
        .with_report(r);
        let text_of = |lang: &str| {
            let opts = TranscriptOptions {
                lang: lang.into(),
                provider_name: "test".into(),
                generated_at: "now".into(),
            };
            layout_transcript(&elmo, &opts, &fonts)
                .iter()
                .flat_map(|p| &p.ops)
                .filter_map(|op| match op {
                    Op::Text { text, .. } => Some(text.clone()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let de = text_of("de");
        for needle in [
            "Geburtsdatum: 12.04.1999",
            "Ausgestellt: 01.06.2024",
            "15.01.2026",
            "7,5",
            "nicht bestanden",
            "ECTS-Punkte insgesamt (bestanden): 7,5",
            "Leistung",
        ] {
            assert!(de.contains(needle), "{needle:?} missing:\n{de}");
        }
        assert!(
            !de.contains("Date of birth") && !de.contains("passed"),
            "{de}"
        );
        let fr = text_of("fr");
        assert!(
            fr.contains("Date de naissance : 12/04/1999")
                || fr.contains("Date de naissance: 12/04/1999"),
            "{fr}"
        );
        assert!(fr.contains("non validé") && fr.contains("7,5"), "{fr}");
        assert!(
            !de.contains("Page 1 of"),
            "the footer is laid out by render.rs"
        );
        let en = text_of("en");
        assert!(
            en.contains("Date of birth: 12 Apr 1999") && en.contains("7.5"),
            "{en}"
        );
    }

    #[test]
    fn dates_are_shown_as_dates() {
        assert_eq!(display_date("2024-06-01T12:00:00Z"), "2024-06-01");
        assert_eq!(display_date("2024-06-01+02:00"), "2024-06-01");
        assert_eq!(display_date("spring 2024"), "spring 2024");
    }

    #[test]
    fn long_tables_break_pages_and_stay_inside_the_margins() {
        let fonts = Fonts::load().expect("font");
        let long =
            "Advanced topics in the theory and practice of very long course titles ".repeat(5);
        let r = report(
            (0..150)
                .map(|i| {
                    Los::course(
                        i.to_string(),
                        LangText::new(format!("{i} {long}")),
                        loi(LoiStatus::Passed, "5"),
                    )
                })
                .collect(),
        );
        let elmo = Elmo::new(Learner::new("Åsa", "Ødegård"), "2024-06-01T12:00:00Z").with_report(r);
        let opts = TranscriptOptions {
            lang: "en".into(),
            provider_name: "test".into(),
            generated_at: "now".into(),
        };
        let pages = layout_transcript(&elmo, &opts, &fonts);
        assert!(pages.len() > 5, "{}", pages.len());
        for page in &pages {
            for op in &page.ops {
                if let Op::Text {
                    x,
                    y,
                    size,
                    style,
                    text,
                } = op
                {
                    let right = x + fonts.face(*style).width(text, *size);
                    assert!(*x >= MARGIN_X - 0.01, "{text}");
                    assert!(right <= MARGIN_X + CONTENT_WIDTH + 0.01, "{text}: {right}");
                    assert!(*y <= CONTENT_BOTTOM + 0.01, "{text}: {y}");
                }
            }
        }
        // Every title got at most MAX_TITLE_LINES lines, the last cut with "…".
        let cut = pages
            .iter()
            .flat_map(|p| &p.ops)
            .filter(|op| matches!(op, Op::Text { text, .. } if text.ends_with('…')))
            .count();
        assert_eq!(cut, 150);
    }
}
