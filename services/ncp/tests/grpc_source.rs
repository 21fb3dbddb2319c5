//! The `grpc` results source against a real `emrex.ncp.v1.ResultsProvider` server on loopback
//! (an institution's service as a test would write it): results, unknown student, provider
//! failure, a document about somebody else, a provider that hangs, and an unusable document —
//! each ending in the return code the issue asks for, never a crash.

mod support;

use std::time::Duration;

use emrex_ncp::config::SourceConfig;
use emrex_ncp::source::demo::{DemoSource, STUDENTS};
use emrex_proto::ncp::v1::results_provider_server::{ResultsProvider, ResultsProviderServer};
use emrex_proto::ncp::v1::{GetResultsRequest, GetResultsResponse};
use emrex_runtime::config::GrpcClientConfig;
use support::{Agent, TestNcp, input, input_values, return_fields};
use tonic::{Request, Response, Status};

/// Answers by the student's `local` identifier: the demo transcripts for demo ids, and
/// misbehaviour for a few special ids.
struct Institution {
    /// Answer every request with a document that is not ELMO.
    broken: bool,
}

#[tonic::async_trait]
impl ResultsProvider for Institution {
    async fn get_results(
        &self,
        request: Request<GetResultsRequest>,
    ) -> Result<Response<GetResultsResponse>, Status> {
        let r = request.into_inner();
        let id = r
            .identifiers
            .iter()
            .find(|i| i.r#type == "local")
            .map(|i| i.value.clone())
            .unwrap_or_default();
        let demo = DemoSource::new("2026-01-01T00:00:00Z");
        if self.broken {
            return Ok(Response::new(GetResultsResponse {
                elmo_xml: b"<!DOCTYPE x [<!ENTITY a 'b'>]><elmo/>".to_vec(),
            }));
        }
        let xml = match id.as_str() {
            "demo-athina" => emrex_elmo::to_xml_v17(&demo.transcript(&STUDENTS[2])),
            // The institution's database has the wrong person under this id.
            "demo-jean" => emrex_elmo::to_xml_v17(&demo.transcript(&STUDENTS[0])),
            "demo-zoe" => return Err(Status::internal("database down")),
            "demo-asa" => {
                tokio::time::sleep(Duration::from_secs(30)).await;
                return Err(Status::internal("late"));
            }
            _ => return Err(Status::not_found("unknown student")),
        };
        Ok(Response::new(GetResultsResponse {
            elmo_xml: xml.into_bytes(),
        }))
    }
}

async fn run(ncp: &TestNcp, student: &str) -> (u16, String) {
    let mut a = Agent::new();
    let r = a
        .post(
            &format!("{}/", ncp.base),
            &[
                ("sessionId", "grpc1"),
                ("returnUrl", "http://127.0.0.1:9/r"),
            ],
        )
        .await;
    let url = format!("{}{}", ncp.base, r.location.expect("location"));
    let login = a.get(&url).await;
    let r = a
        .post(
            &format!("{url}/login/dev"),
            &[("csrf", &input(&login.body, "csrf")), ("student", student)],
        )
        .await;
    if r.status == 303 {
        let page = a.get(&url).await;
        (page.status, page.body)
    } else {
        (r.status, r.body)
    }
}

async fn provider(broken: bool) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(ResultsProviderServer::new(Institution { broken }))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await;
    });
    (addr, server)
}

async fn ncp_for(addr: std::net::SocketAddr) -> TestNcp {
    TestNcp::start(move |c| {
        c.source = SourceConfig::Grpc {
            client: GrpcClientConfig {
                endpoint: format!("http://{addr}"),
                timeout: Duration::from_secs(2),
                ..GrpcClientConfig::default()
            },
            token_file: None,
        };
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_provider_behaviour_maps_to_a_return_code() {
    let (addr, server) = provider(false).await;
    let ncp = ncp_for(addr).await;

    // Results: the selection page lists the passed ones.
    let (status, body) = run(&ncp, "demo-athina").await;
    assert_eq!(status, 200);
    assert_eq!(input_values(&body, "course").len(), 2, "{body}");
    assert!(body.contains("Linear Algebra"));

    for (student, code) in [
        ("demo-jean", "NCP_ERROR"),       // someone else's document
        ("demo-zoe", "NCP_ERROR"),        // provider failure
        ("demo-asa", "NCP_ERROR"),        // provider hangs past the deadline
        ("demo-empty", "NCP_NO_RESULTS"), // NOT_FOUND
    ] {
        let (status, body) = run(&ncp, student).await;
        assert_eq!(status, 200, "{student}");
        let f = return_fields(&body);
        assert_eq!(f["returnCode"], code, "{student}: {}", f["returnMessage"]);
        assert!(!f["returnMessage"].is_empty());
        assert!(
            !f["returnMessage"].contains("database down"),
            "internal detail leaked to the client"
        );
    }
    server.abort();

    // A provider sending something that is not ELMO (here: a DTD, which the parser refuses).
    let (addr, server) = provider(true).await;
    let ncp = ncp_for(addr).await;
    let (_, body) = run(&ncp, "demo-athina").await;
    assert_eq!(return_fields(&body)["returnCode"], "NCP_ERROR");
    server.abort();

    // The provider gone: still NCP_ERROR, not a hang or a crash.
    let (_, body) = run(&ncp, "demo-athina").await;
    assert_eq!(return_fields(&body)["returnCode"], "NCP_ERROR");
}
