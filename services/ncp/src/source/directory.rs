//! One ELMO file per student in a directory, named after one of the student's identifiers:
//! `{dir}/{value}.xml` for the identifier type configured (e.g. `local` → `s123456.xml`).
//!
//! For institutions whose SIS can export ELMO (or a nightly job that writes it): the NCP reads
//! the file on each login, so a replaced file is picked up at once. Values that are not plain
//! file names (anything outside `A–Z a–z 0–9 . _ -`, or starting with `.`) never touch the file
//! system: such a student is simply unknown.

use std::path::PathBuf;

use emrex_elmo::{Elmo, Limits};

use super::{ResultsSource, SourceError, check_learner};
use crate::student::Student;

/// Largest ELMO file read (a transcript with embedded PDFs stays well below this).
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// The directory source.
#[derive(Debug, Clone)]
pub struct DirectorySource {
    dir: PathBuf,
    identifier_type: String,
    limits: Limits,
}

impl DirectorySource {
    /// Reads `{dir}/{value}.xml` where `value` is the student's identifier of `identifier_type`.
    pub fn new(dir: impl Into<PathBuf>, identifier_type: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            identifier_type: identifier_type.into(),
            limits: Limits::default(),
        }
    }

    fn path_for(&self, student: &Student) -> Option<PathBuf> {
        let value = student.identifier(&self.identifier_type)?;
        let plain = !value.is_empty()
            && value.len() <= 128
            && !value.starts_with('.')
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        plain.then(|| self.dir.join(format!("{value}.xml")))
    }
}

impl ResultsSource for DirectorySource {
    async fn results(
        &self,
        student: &Student,
        _languages: &[String],
    ) -> Result<Option<Elmo>, SourceError> {
        let Some(path) = self.path_for(student) else {
            return Ok(None);
        };
        let meta = match tokio::fs::metadata(&path).await {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(SourceError::Unavailable(format!("{}: {e}", path.display()))),
        };
        if meta.len() > MAX_FILE_BYTES {
            return Err(SourceError::BadDocument(format!(
                "{} is larger than {MAX_FILE_BYTES} bytes",
                path.display()
            )));
        }
        let bytes = tokio::fs::read(&path)
            .await
            .map_err(|e| SourceError::Unavailable(format!("{}: {e}", path.display())))?;
        let elmo = emrex_elmo::parse(&bytes, &self.limits)
            .map_err(|e| SourceError::BadDocument(format!("{}: {e}", path.display())))?;
        check_learner(student, &elmo)?;
        Ok(Some(elmo))
    }

    async fn healthy(&self) -> bool {
        tokio::fs::metadata(&self.dir)
            .await
            .is_ok_and(|m| m.is_dir())
    }

    fn kind(&self) -> &'static str {
        "directory"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::demo::{DemoSource, STUDENTS};

    fn student(id: &str) -> Student {
        Student {
            identifiers: vec![("local".into(), id.into())],
            ..STUDENTS[0].student()
        }
    }

    #[tokio::test]
    async fn reads_files_by_identifier_and_refuses_path_tricks() {
        let dir = tempfile::tempdir().expect("tmp");
        let elmo = DemoSource::new("2026-01-01T00:00:00Z").transcript(&STUDENTS[0]);
        std::fs::write(
            dir.path().join("s1.xml"),
            emrex_elmo::to_xml_v17(&elmo).as_bytes(),
        )
        .expect("write");
        std::fs::write(dir.path().join("broken.xml"), b"<elmo").expect("write");
        std::fs::write(dir.path().join("secret"), b"x").expect("write");
        let src = DirectorySource::new(dir.path(), "local");
        assert!(src.healthy().await);
        let got = src.results(&student("s1"), &[]).await.expect("ok");
        assert_eq!(got.expect("found").reports.len(), 2);
        assert!(
            src.results(&student("nobody"), &[])
                .await
                .expect("ok")
                .is_none()
        );
        for trick in ["../secret", "..", ".hidden", "a/b", "secret\0"] {
            assert!(
                src.results(&student(trick), &[])
                    .await
                    .expect("ok")
                    .is_none(),
                "{trick}"
            );
        }
        assert!(matches!(
            src.results(&student("broken"), &[]).await,
            Err(SourceError::BadDocument(_))
        ));
        // Someone else's file under this student's identifier.
        let other = Student {
            identifiers: vec![("local".into(), "s1".into())],
            ..STUDENTS[3].student()
        };
        assert!(matches!(
            src.results(&other, &[]).await,
            Err(SourceError::WrongPerson)
        ));
        let gone = DirectorySource::new(dir.path().join("missing"), "local");
        assert!(!gone.healthy().await);
    }
}
