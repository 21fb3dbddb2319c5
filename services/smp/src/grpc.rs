//! `emrex.smp.v1.Smp`: the SIS's API. Records are turned into protobuf with the parsed results
//! (from the stored XML, which was verified when it arrived), the signed XML and the PDF.

use std::pin::Pin;
use std::sync::Arc;

use emrex_elmo::model::pick_lang;
use emrex_proto::smp::v1 as pb;
use emrex_proto::smp::v1::smp_server::{Smp as SmpApi, SmpServer};
use futures_util::Stream;
use tonic::{Request, Response, Status};

use crate::model::{ExchangeRecord, OutcomeKind, Status as RecStatus};
use crate::service::{SmpCore, StartError};
use crate::store::{ListFilter, SmpStore};

/// One course row for pages and the API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CourseRow {
    pub report: usize,
    pub institution: String,
    pub title: String,
    pub kind: String,
    pub date: String,
    pub result: String,
    pub credits: String,
    pub status: String,
    pub depth: u32,
    /// ELMO 2.1 `documentType` (empty when not given).
    pub document_type: String,
    /// ELMO 2.1 `enrolment`.
    pub enrolment: Option<EnrolmentRow>,
    /// ELMO 2.1 `duration` and `gradingSchemeExternalId` (empty when not given).
    pub duration: String,
    pub grading_scheme_external_id: String,
}

/// An ELMO 2.1 enrolment, for pages and the API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnrolmentRow {
    pub institution: String,
    pub country: String,
    pub date: String,
    pub academic_year_start: String,
    pub academic_year_end: String,
}

/// What ELMO 2.1 says about a report beyond its courses: its status and recognition decisions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportNotes {
    pub report: usize,
    pub institution: String,
    /// `status/code` and its messages (the chosen language first, see [`report_notes_in`]), when
    /// given; each message with its `xml:lang`, so the page can mark it.
    pub status: Option<(String, Vec<emrex_elmo::LangText>)>,
    pub recognitions: Vec<RecognitionRow>,
}

/// One ELMO 2.1 `resultOfRecognition`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RecognitionRow {
    pub title: String,
    pub status: String,
    pub decision_date: String,
    pub basis_institutions: Vec<String>,
    pub basis_courses: Vec<CourseRow>,
    pub recognised_courses: Vec<CourseRow>,
}

/// The stored document, read again (it verified on arrival), when the outcome carries one.
pub fn document(record: &ExchangeRecord) -> Option<emrex_elmo::Elmo> {
    let kind = record.outcome.as_ref()?.kind;
    if !matches!(
        kind,
        OutcomeKind::Verified | OutcomeKind::IdentityReview | OutcomeKind::IdentityMismatch
    ) {
        return None;
    }
    emrex_elmo::parse(record.elmo_xml.as_deref()?, &emrex_elmo::Limits::default()).ok()
}

/// The rows of a learning-opportunity tree, depth first.
fn los_rows(
    los: &emrex_elmo::LearningOpportunitySpecification,
    depth: u32,
    report: usize,
    institution: &str,
    lang: &str,
    rows: &mut Vec<CourseRow>,
) {
    let loi = los.specifies.as_ref();
    let text = |f: fn(&emrex_elmo::LearningOpportunityInstance) -> &Option<String>| {
        loi.and_then(|i| f(i).clone()).unwrap_or_default()
    };
    rows.push(CourseRow {
        report,
        institution: institution.to_string(),
        title: pick_lang(&los.titles, lang).unwrap_or("").to_string(),
        kind: los.los_type.clone().unwrap_or_default(),
        date: text(|i| &i.date),
        result: text(|i| &i.result_label),
        credits: loi
            .and_then(|i| {
                i.credits
                    .iter()
                    .find(|c| c.is_ects())
                    .and_then(|c| c.value.clone())
            })
            .unwrap_or_default(),
        status: loi
            .map(|i| i.effective_status().as_str().to_string())
            .unwrap_or_default(),
        depth,
        document_type: los.document_type.clone().unwrap_or_default(),
        enrolment: loi
            .and_then(|i| i.enrolment.as_ref())
            .map(|e| enrolment_row(e, lang)),
        duration: text(|i| &i.duration),
        grading_scheme_external_id: text(|i| &i.grading_scheme_external_id),
    });
    for c in &los.has_part {
        los_rows(c, depth + 1, report, institution, lang, rows);
    }
}

/// An ELMO 2.1 enrolment as shown (institution name in `lang`, else English, else the first
/// given).
pub fn enrolment_row(e: &emrex_elmo::model::Enrolment, lang: &str) -> EnrolmentRow {
    EnrolmentRow {
        institution: pick_lang(&e.institution.titles, lang)
            .unwrap_or("")
            .to_string(),
        country: e.institution.country.clone().unwrap_or_default(),
        date: e.date.clone(),
        academic_year_start: e.academic_year_start.clone(),
        academic_year_end: e.academic_year_end.clone(),
    }
}

/// The course rows of a document.
pub fn course_rows(elmo: &emrex_elmo::Elmo) -> Vec<CourseRow> {
    let mut rows = Vec::new();
    for (r, report) in elmo.reports.iter().enumerate() {
        let institution = pick_lang(&report.issuer.titles, "en").unwrap_or("");
        for los in &report.learning_opportunities {
            los_rows(los, 0, r, institution, "en", &mut rows);
        }
    }
    rows
}

/// The ELMO 2.1 report statuses and recognition decisions of a document (only reports that
/// have either), names and messages in English first (the SIS API's choice).
pub fn report_notes(elmo: &emrex_elmo::Elmo) -> Vec<ReportNotes> {
    report_notes_in(elmo, "en")
}

/// [`report_notes`] with names, titles and messages in `lang` first, then English, then the
/// others in document order (the student's page).
pub fn report_notes_in(elmo: &emrex_elmo::Elmo, lang: &str) -> Vec<ReportNotes> {
    let mut out = Vec::new();
    for (r, report) in elmo.reports.iter().enumerate() {
        if report.status.is_none() && report.results_of_recognition.is_empty() {
            continue;
        }
        let institution = pick_lang(&report.issuer.titles, lang).unwrap_or("");
        let recognitions = report
            .results_of_recognition
            .iter()
            .map(|rr| {
                let mut basis_courses = Vec::new();
                let mut basis_institutions = Vec::new();
                for b in &rr.recognition_basis {
                    let name = pick_lang(&b.issuer.titles, lang).unwrap_or("");
                    basis_institutions.push(name.to_string());
                    for los in &b.learning_opportunities {
                        los_rows(los, 0, r, name, lang, &mut basis_courses);
                    }
                }
                let mut recognised_courses = Vec::new();
                for los in &rr.recognition_results {
                    los_rows(los, 0, r, institution, lang, &mut recognised_courses);
                }
                RecognitionRow {
                    title: pick_lang(&rr.titles, lang).unwrap_or("").to_string(),
                    status: rr.status.clone(),
                    decision_date: rr.decision_date.clone().unwrap_or_default(),
                    basis_institutions,
                    basis_courses,
                    recognised_courses,
                }
            })
            .collect();
        out.push(ReportNotes {
            report: r,
            institution: institution.to_string(),
            status: report.status.as_ref().map(|s| {
                let mut messages: Vec<&emrex_elmo::LangText> = s.messages.iter().collect();
                // `lang` first, then English, then the others in document order.
                let is = |m: &emrex_elmo::LangText, l: &str| {
                    m.lang.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(l))
                };
                messages.sort_by_key(|m| (!is(m, lang), !is(m, "en")));
                (s.code.clone(), messages.into_iter().cloned().collect())
            }),
            recognitions,
        });
    }
    out
}

fn course_to_proto(c: &CourseRow) -> pb::Course {
    pb::Course {
        title: c.title.clone(),
        r#type: c.kind.clone(),
        date: c.date.clone(),
        result: c.result.clone(),
        credits_ects: c.credits.clone(),
        status: c.status.clone(),
        depth: c.depth,
        document_type: c.document_type.clone(),
        enrolment: c.enrolment.as_ref().map(|e| pb::Enrolment {
            institution_name: e.institution.clone(),
            institution_country: e.country.clone(),
            date: e.date.clone(),
            academic_year_start: e.academic_year_start.clone(),
            academic_year_end: e.academic_year_end.clone(),
        }),
        duration: c.duration.clone(),
        grading_scheme_external_id: c.grading_scheme_external_id.clone(),
    }
}

/// The `EMREX transcript` PDF of a document.
pub fn transcript_pdf(elmo: &emrex_elmo::Elmo) -> Option<Vec<u8>> {
    let att = elmo
        .attachments
        .iter()
        .find(|a| a.attachment_type.as_deref() == Some("EMREX transcript"))?;
    att.contents
        .iter()
        .find_map(|c| emrex_elmo::DataUri::parse(&c.data, 32 << 20).ok())
        .filter(|d| d.media_type == "application/pdf")
        .map(|d| d.bytes)
}

/// A record as protobuf.
pub fn to_proto(record: &ExchangeRecord) -> pb::Exchange {
    let outcome = record.outcome.as_ref();
    let elmo = document(record);
    let rows = elmo.as_ref().map(course_rows).unwrap_or_default();
    let notes = elmo.as_ref().map(report_notes).unwrap_or_default();
    let reports = elmo
        .as_ref()
        .map(|e| {
            e.reports
                .iter()
                .enumerate()
                .map(|(i, r)| pb::Report {
                    issuer_name: pick_lang(&r.issuer.titles, "en").unwrap_or("").to_string(),
                    issuer_country: r.issuer.country.clone().unwrap_or_default(),
                    issue_date: r.issue_date.clone(),
                    courses: rows
                        .iter()
                        .filter(|c| c.report == i)
                        .map(course_to_proto)
                        .collect(),
                    status: notes
                        .iter()
                        .find(|n| n.report == i)
                        .and_then(|n| n.status.as_ref())
                        .map(|(code, messages)| pb::ReportStatus {
                            code: code.clone(),
                            messages: messages.iter().map(|m| m.text.clone()).collect(),
                        }),
                    recognitions: notes
                        .iter()
                        .filter(|n| n.report == i)
                        .flat_map(|n| &n.recognitions)
                        .map(|rr| pb::Recognition {
                            title: rr.title.clone(),
                            status: rr.status.clone(),
                            decision_date: rr.decision_date.clone(),
                            basis_institutions: rr.basis_institutions.clone(),
                            basis_courses: rr.basis_courses.iter().map(course_to_proto).collect(),
                            recognised_courses: rr
                                .recognised_courses
                                .iter()
                                .map(course_to_proto)
                                .collect(),
                        })
                        .collect(),
                })
                .collect()
        })
        .unwrap_or_default();
    pb::Exchange {
        session_id: record.session_id.clone(),
        sis_reference: record.sis_reference.clone(),
        person: Some(pb::Person {
            given_names: record.person.given_names.clone(),
            family_name: record.person.family_name.clone(),
            birth_date: record.person.birth_date.clone().unwrap_or_default(),
        }),
        ncp_acronym: record.ncp_acronym.clone(),
        ncp_country: record.ncp_country.clone(),
        status: match record.status {
            RecStatus::Pending => pb::Status::Pending,
            RecStatus::Completed => pb::Status::Completed,
        } as i32,
        outcome: outcome.map_or(pb::OutcomeKind::Unspecified, |o| match o.kind {
            OutcomeKind::Verified => pb::OutcomeKind::Verified,
            OutcomeKind::IdentityReview => pb::OutcomeKind::IdentityReview,
            OutcomeKind::IdentityMismatch => pb::OutcomeKind::IdentityMismatch,
            OutcomeKind::SignatureInvalid => pb::OutcomeKind::SignatureInvalid,
            OutcomeKind::Undecodable => pb::OutcomeKind::Undecodable,
            OutcomeKind::NcpReturned => pb::OutcomeKind::NcpReturned,
            OutcomeKind::Stale => pb::OutcomeKind::Stale,
        }) as i32,
        return_code: outcome.map(|o| o.return_code.clone()).unwrap_or_default(),
        return_message: outcome
            .map(|o| o.return_message.clone())
            .unwrap_or_default(),
        detail: outcome.map(|o| o.detail.clone()).unwrap_or_default(),
        identity: outcome
            .and_then(|o| o.identity.as_ref())
            .map(|i| pb::Identity {
                score: i.score,
                verdict: format!("{:?}", i.verdict).to_lowercase(),
                reasons: i.reasons.iter().map(|r| r.message()).collect(),
            }),
        learner: elmo.as_ref().map(|e| pb::Learner {
            given_names: e.learner.given_names.clone(),
            family_name: e.learner.family_name.clone(),
            birth_date: e.learner.bday.clone().unwrap_or_default(),
            citizenship: e.learner.citizenship.clone().unwrap_or_default(),
            alternative_name: e
                .learner
                .alternative_name
                .as_ref()
                .map(|a| a.text.clone())
                .unwrap_or_default(),
            country_of_birth: e.learner.country_of_birth.clone().unwrap_or_default(),
        }),
        reports,
        signed_xml: if elmo.is_some() {
            record.elmo_xml.clone().unwrap_or_default()
        } else {
            Vec::new()
        },
        transcript_pdf: elmo.as_ref().and_then(transcript_pdf).unwrap_or_default(),
        created_unix: record.created_unix,
        completed_unix: record.completed_unix.unwrap_or_default(),
        revision: record.revision,
        elmo_version: elmo.as_ref().map(elmo_version).unwrap_or_default(),
    }
}

/// The version label of a read document (`Exchange.elmo_version`).
pub fn elmo_version(elmo: &emrex_elmo::Elmo) -> String {
    match elmo.format {
        emrex_elmo::ElmoFormat::V1 | emrex_elmo::ElmoFormat::V1OffSpecNamespace(_) => "1.x",
        emrex_elmo::ElmoFormat::V2 => "2.1",
        emrex_elmo::ElmoFormat::LegacyPurl => "purl",
    }
    .to_string()
}

/// The gRPC service.
#[derive(Debug)]
pub struct SmpService<S: SmpStore> {
    core: Arc<SmpCore<S>>,
}

impl<S: SmpStore> SmpService<S> {
    pub fn new(core: Arc<SmpCore<S>>) -> Self {
        Self { core }
    }
}

/// `SmpServer` for a store (wrap it with authentication before serving).
pub fn smp_server<S: SmpStore>(core: Arc<SmpCore<S>>) -> SmpServer<SmpService<S>> {
    SmpServer::new(SmpService::new(core)).max_encoding_message_size(64 << 20)
}

fn internal(e: impl std::fmt::Display) -> Status {
    tracing::warn!(error = %e, "SMP store error");
    Status::internal("store error")
}

/// Records read per replay query when a watch resumes.
const REPLAY_BATCH: usize = 500;

type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::Exchange, Status>> + Send>>;

#[tonic::async_trait]
impl<S: SmpStore> SmpApi for SmpService<S> {
    async fn start_exchange(
        &self,
        request: Request<pb::StartExchangeRequest>,
    ) -> Result<Response<pb::StartExchangeResponse>, Status> {
        let r = request.into_inner();
        let p = r.person.unwrap_or_default();
        let person = emrex_elmo::Person::new(
            p.given_names,
            p.family_name,
            Some(p.birth_date.as_str()).filter(|d| !d.is_empty()),
        );
        match self
            .core
            .start(person, &r.ncp_acronym, &r.sis_reference)
            .await
        {
            Ok(rec) => Ok(Response::new(pb::StartExchangeResponse {
                redirect_url: format!("{}/go/{}", self.core.settings.public_url, rec.session_id),
                session_id: rec.session_id,
                expires_unix: rec.expires_unix,
            })),
            Err(StartError::UnknownNcp) => {
                Err(Status::not_found("EMREG lists no NCP with this acronym"))
            }
            Err(StartError::Invalid(m)) => Err(Status::invalid_argument(m.to_string())),
            Err(StartError::Store(e)) => Err(internal(e)),
        }
    }

    async fn get_exchange(
        &self,
        request: Request<pb::GetExchangeRequest>,
    ) -> Result<Response<pb::Exchange>, Status> {
        let id = request.into_inner().session_id;
        match self.core.store.get(&id).await.map_err(internal)? {
            Some(r) => Ok(Response::new(to_proto(&r))),
            None => Err(Status::not_found("no such exchange")),
        }
    }

    async fn list_exchanges(
        &self,
        request: Request<pb::ListExchangesRequest>,
    ) -> Result<Response<pb::ListExchangesResponse>, Status> {
        let r = request.into_inner();
        let records = self
            .core
            .store
            .list(ListFilter {
                sis_reference: Some(r.sis_reference).filter(|s| !s.is_empty()),
                after_revision: Some(r.after_revision).filter(|v| *v > 0),
                limit: r.limit as usize,
            })
            .await
            .map_err(internal)?;
        Ok(Response::new(pb::ListExchangesResponse {
            exchanges: records.iter().map(to_proto).collect(),
        }))
    }

    type WatchExchangesStream = WatchStream;

    async fn watch_exchanges(
        &self,
        request: Request<pb::WatchExchangesRequest>,
    ) -> Result<Response<Self::WatchExchangesStream>, Status> {
        let after = request.into_inner().after_revision;
        // Subscribe first, then replay from the database, so nothing falls between the two.
        let mut live = self.core.store.subscribe();
        let store = self.core.store.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            // Replay oldest first, in batches, until the database has nothing newer.
            let mut last = after;
            if after > 0 {
                loop {
                    let batch = match store.changed_after(last, REPLAY_BATCH).await {
                        Ok(batch) => batch,
                        Err(e) => {
                            let _ = tx.send(Err(internal(e))).await;
                            return;
                        }
                    };
                    let full = batch.len() >= REPLAY_BATCH;
                    for r in batch {
                        last = r.revision;
                        if tx.send(Ok(to_proto(&r))).await.is_err() {
                            return;
                        }
                    }
                    if !full {
                        break;
                    }
                }
            }
            loop {
                match live.recv().await {
                    Ok(r) if r.revision > last => {
                        last = r.revision;
                        if tx.send(Ok(to_proto(&r))).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx
                            .send(Err(Status::data_loss(
                                "watcher fell behind; resume with after_revision",
                            )))
                            .await;
                        return;
                    }
                    Err(_) => return,
                }
            }
        });
        let stream = tokio_stream::wrappers::ReceiverStream::new(rx);
        Ok(Response::new(Box::pin(stream)))
    }
}
