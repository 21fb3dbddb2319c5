//! The institution's own results service (`emrex.ncp.v1.ResultsProvider`, see
//! proto/emrex/ncp/v1/results.proto), called over gRPC with the runtime's client TLS/mTLS.

use std::time::Duration;

use emrex_elmo::{Elmo, Limits};
use emrex_proto::ncp::v1::{
    GetResultsRequest, StudentIdentifier, results_provider_client::ResultsProviderClient,
};
use tonic::Code;

use super::{ResultsSource, SourceError, check_learner};
use crate::clients::AuthChannel;
use crate::student::Student;

/// Largest response accepted from the provider.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// The gRPC source.
#[derive(Debug, Clone)]
pub struct GrpcSource {
    client: ResultsProviderClient<AuthChannel>,
    health: tonic_health::pb::health_client::HealthClient<AuthChannel>,
    timeout: Duration,
    limits: Limits,
}

impl GrpcSource {
    /// A source calling the provider on `channel`, each call bounded by `timeout`.
    pub fn new(channel: AuthChannel, timeout: Duration) -> Self {
        Self {
            client: ResultsProviderClient::new(channel.clone())
                .max_decoding_message_size(MAX_RESPONSE_BYTES),
            health: tonic_health::pb::health_client::HealthClient::new(channel),
            timeout,
            limits: Limits::default(),
        }
    }
}

impl ResultsSource for GrpcSource {
    async fn results(
        &self,
        student: &Student,
        languages: &[String],
    ) -> Result<Option<Elmo>, SourceError> {
        let mut request = tonic::Request::new(GetResultsRequest {
            given_names: student.given_names.clone(),
            family_name: student.family_name.clone(),
            birth_date: student.birth_date.clone().unwrap_or_default(),
            identifiers: student
                .identifiers
                .iter()
                .map(|(t, v)| StudentIdentifier {
                    r#type: t.clone(),
                    value: v.clone(),
                })
                .collect(),
            languages: languages.to_vec(),
        });
        request.set_timeout(self.timeout);
        let mut client = self.client.clone();
        let response = match tokio::time::timeout(self.timeout, client.get_results(request)).await {
            Err(_) => return Err(SourceError::Timeout),
            Ok(Err(status)) if status.code() == Code::NotFound => return Ok(None),
            Ok(Err(status)) if status.code() == Code::DeadlineExceeded => {
                return Err(SourceError::Timeout);
            }
            Ok(Err(status)) => {
                return Err(SourceError::Unavailable(format!(
                    "{:?}: {}",
                    status.code(),
                    status.message()
                )));
            }
            Ok(Ok(r)) => r.into_inner(),
        };
        let elmo = emrex_elmo::parse(&response.elmo_xml, &self.limits)
            .map_err(|e| SourceError::BadDocument(e.to_string()))?;
        check_learner(student, &elmo)?;
        Ok(Some(elmo))
    }

    async fn healthy(&self) -> bool {
        let mut health = self.health.clone();
        let mut request = tonic::Request::new(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        });
        request.set_timeout(Duration::from_secs(2));
        match tokio::time::timeout(Duration::from_secs(3), health.check(request)).await {
            Ok(Ok(r)) => r.into_inner().status == 1, // SERVING
            // A provider without the health service is up if it answers at all.
            Ok(Err(status)) => status.code() == Code::Unimplemented,
            Err(_) => false,
        }
    }

    fn kind(&self) -> &'static str {
        "grpc"
    }
}
