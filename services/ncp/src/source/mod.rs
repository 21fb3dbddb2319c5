//! Where the NCP gets a student's results: one trait, three implementations chosen in config.
//!
//! * [`demo`]: built-in synthetic students (development and demos only);
//! * [`directory`]: one ELMO file per student, named by a configured identifier;
//! * [`grpc`]: the institution's own service implementing `emrex.ncp.v1.ResultsProvider`.
//!
//! Every source returns `Ok(None)` for a student it does not know (the client then gets
//! `NCP_NO_RESULTS`) and [`SourceError`] for everything else (`NCP_ERROR`; the detail is
//! logged, the student sees a generic message).

pub mod demo;
pub mod directory;
pub mod grpc;

use std::future::Future;

use emrex_elmo::Elmo;

use crate::student::Student;

/// Why a source could not answer.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source is unreachable or failed (network, gRPC status, I/O).
    #[error("results source unavailable: {0}")]
    Unavailable(String),
    /// The source answered with something that is not usable ELMO.
    #[error("results source returned an unusable document: {0}")]
    BadDocument(String),
    /// The source's document names another person than the one who logged in.
    #[error("the results source returned a document for another person")]
    WrongPerson,
    /// The source took longer than its deadline.
    #[error("results source timed out")]
    Timeout,
}

/// A source of study results.
pub trait ResultsSource: Send + Sync {
    /// The student's results (learner plus reports), `None` when the student is unknown.
    fn results(
        &self,
        student: &Student,
        languages: &[String],
    ) -> impl Future<Output = Result<Option<Elmo>, SourceError>> + Send;

    /// Whether the source can answer now (for `/ready`).
    fn healthy(&self) -> impl Future<Output = bool> + Send;

    /// Short name for logs and metrics.
    fn kind(&self) -> &'static str;
}

/// The source chosen in config.
#[derive(Debug)]
pub enum AnySource {
    Demo(demo::DemoSource),
    Directory(directory::DirectorySource),
    Grpc(Box<grpc::GrpcSource>),
}

impl ResultsSource for AnySource {
    async fn results(
        &self,
        student: &Student,
        languages: &[String],
    ) -> Result<Option<Elmo>, SourceError> {
        match self {
            AnySource::Demo(s) => s.results(student, languages).await,
            AnySource::Directory(s) => s.results(student, languages).await,
            AnySource::Grpc(s) => s.results(student, languages).await,
        }
    }

    async fn healthy(&self) -> bool {
        match self {
            AnySource::Demo(s) => s.healthy().await,
            AnySource::Directory(s) => s.healthy().await,
            AnySource::Grpc(s) => s.healthy().await,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            AnySource::Demo(s) => s.kind(),
            AnySource::Directory(s) => s.kind(),
            AnySource::Grpc(s) => s.kind(),
        }
    }
}

/// Checks that a source's document is about `student`: the identity matcher must not say
/// `Mismatch` (a login without names skips the check; the identifier did the lookup).
pub fn check_learner(student: &Student, elmo: &Elmo) -> Result<(), SourceError> {
    if student.given_names.is_empty() && student.family_name.is_empty() {
        return Ok(());
    }
    let m = emrex_elmo::match_elmo(&student.person(), elmo);
    if m.verdict == emrex_elmo::Verdict::Mismatch {
        return Err(SourceError::WrongPerson);
    }
    Ok(())
}
