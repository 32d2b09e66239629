//! A call's cross-cutting concerns (request id, record, signature, legacy translation,
//! IP guard, who calls, rate limit) as tower layers: each an async function of the
//! served bouquet, the request and the layers inside it (`Next`).
//!
//! Not axum's `from_fn`, which at every call of every layer boxes the inner stack into
//! a new route and splits the request to run extractors: here the inner service is a
//! type parameter, and a call costs each layer one clone of it and one boxed future.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use tower::{Layer, Service, ServiceExt};

use crate::Served;

/// The layers inside a concern, as a concern sees them.
pub trait Inner: Service<Request, Response = Response, Error = Infallible, Future: Send> + Send + 'static {}

impl<S> Inner for S where S: Service<Request, Response = Response, Error = Infallible, Future: Send> + Send + 'static {}

/// What a concern calls to pass the request on.
pub struct Next<S>(S);

impl<S: Inner> Next<S> {
    pub async fn run(self, request: Request) -> Response {
        match self.0.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// One concern: what it does around the layers inside it.
pub trait Concern: Copy + Send + Sync + 'static {
    fn around<S: Inner>(
        self,
        served: Arc<Served>,
        request: Request,
        next: Next<S>,
    ) -> impl Future<Output = Response> + Send + 'static;
}

/// Names an async function `f(served, request, next)` as a concern.
macro_rules! concern {
    ($(#[$doc:meta])* $name:ident = $function:path) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name;

        impl $crate::concern::Concern for $name {
            fn around<S: $crate::concern::Inner>(
                self,
                served: std::sync::Arc<$crate::Served>,
                request: axum::extract::Request,
                next: $crate::concern::Next<S>,
            ) -> impl std::future::Future<Output = axum::response::Response> + Send + 'static {
                $function(served, request, next)
            }
        }
    };
}
pub(crate) use concern;

/// The layer of `concern`, for the routes of `served`.
pub fn layer<C: Concern>(served: &Arc<Served>, concern: C) -> ConcernLayer<C> {
    ConcernLayer {
        concern,
        served: served.clone(),
    }
}

#[derive(Clone)]
pub struct ConcernLayer<C> {
    concern: C,
    served: Arc<Served>,
}

impl<C: Concern, S> Layer<S> for ConcernLayer<C> {
    type Service = ConcernService<C, S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConcernService {
            concern: self.concern,
            served: self.served.clone(),
            inner,
        }
    }
}

#[derive(Clone)]
pub struct ConcernService<C, S> {
    concern: C,
    served: Arc<Served>,
    inner: S,
}

impl<C: Concern, S: Inner + Clone> Service<Request> for ConcernService<C, S> {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    /// Always ready: `Next::run` waits for the inner layers when the call reaches them.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let next = Next(self.inner.clone());
        let answer = self.concern.around(self.served.clone(), request, next);
        Box::pin(async move { Ok(answer.await) })
    }
}

/// The address the call came from, as the server recorded it (`server`); none when
/// the router is served some other way.
pub fn peer(request: &Request) -> Option<SocketAddr> {
    request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0)
}
