//! The ingest function: an HTTP request from API Gateway (HTTP API or REST API) or a function
//! URL, handed to `trailwatch_shared::ingest`, and its answer turned back into HTTP.

use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use trailwatch_shared::ingest::{self, EventTimeWindow, IngestRequest};
use trailwatch_shared::ports::{EventQueue, IngestLedger};

pub async fn handle<Q: EventQueue, L: IngestLedger>(
    queue: &Q,
    ledger: &L,
    window: &EventTimeWindow,
    request: Request,
) -> Result<Response<Body>, Error> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let caller = caller_arn(&request);
    let answer = ingest::handle_noting(
        queue,
        ledger,
        window,
        IngestRequest {
            method: request.method().as_str(),
            path: request.uri().path(),
            content_type,
            body: request.body().as_ref(),
            caller: caller.as_deref(),
        },
    )
    .await;
    json_response(answer.status, answer.allow, &answer.body)
}

/// A JSON answer, with `Allow` on a 405; the query function answers the same way.
pub fn json_response(
    status: u16,
    allow: Option<impl AsRef<str>>,
    body: &serde_json::Value,
) -> Result<Response<Body>, Error> {
    let mut response = Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json");
    if let Some(allow) = allow {
        response = response.header(ALLOW, allow.as_ref());
    }
    Ok(response.body(Body::from(body.to_string()))?)
}

/// The SigV4 caller's ARN as API Gateway (IAM authorization) or a function URL (`AWS_IAM`)
/// reports it; none without IAM authorization.
pub fn caller_arn(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => {
            context.authorizer.as_ref()?.iam.as_ref()?.user_arn.clone()
        }
        RequestContext::ApiGatewayV1(context) => context.identity.user_arn.clone(),
        _ => None,
    }
}
