//! The ingest function: an HTTP request from API Gateway (HTTP API or REST API) or a function
//! URL, handed to `trailwatch_shared::ingest`, and its answer turned back into HTTP.

use lambda_http::http::header::{ALLOW, CONTENT_TYPE};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response};
use trailwatch_shared::ingest::{self, EventTimeWindow, IngestRequest};
use trailwatch_shared::ports::EventQueue;

pub async fn handle<Q: EventQueue>(
    queue: &Q,
    window: &EventTimeWindow,
    request: Request,
) -> Result<Response<Body>, Error> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok());
    let caller = caller_arn(&request);
    let answer = ingest::handle(
        queue,
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
    let mut response = Response::builder()
        .status(answer.status)
        .header(CONTENT_TYPE, "application/json");
    if let Some(allow) = answer.allow {
        response = response.header(ALLOW, allow);
    }
    Ok(response.body(Body::from(answer.body.to_string()))?)
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
