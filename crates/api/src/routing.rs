//! The route table: serves every route now, documents them only when asked.
//!
//! Each handler carries a `#[utoipa::path(...)]` attribute, which generates a
//! `__path_<handler>` type knowing the route's methods and path (cheap: two
//! constants) and its OpenAPI operation and schemas (expensive: building them
//! allocates about 6 MB and runs 2 MiB of generated code). [`routes!`] mounts
//! a handler from the cheap half, and keeps a plain function pointer to the
//! expensive half, so the server starts without building a document nobody
//! asked for: the first `GET /api/openapi.json` builds it (see
//! [`crate::openapi::Document`]). Before this table the document was built at
//! start-up: a third of the idle process's memory, freed but kept by the
//! allocator, and code pages mapped for nothing.
//!
//! What is served and what is documented still come from the same attribute
//! and the same list, so they cannot disagree (`tests/api/openapi.rs` checks
//! it route by route).

use crate::AppState;
use axum::handler::Handler;
use axum::routing::{MethodFilter, MethodRouter};
use axum::Router;
use utoipa::__dev::{SchemaReferences, Tags};
use utoipa::openapi::path::Paths;
use utoipa::openapi::{Components, HttpMethod, OpenApi};

/// Adds one route's operation and the schemas it names to a document.
pub type Describe = fn(&mut OpenApi);

/// Routes to serve, with how to document each (see the module docs).
pub struct Routes {
    router: Router<AppState>,
    described: Vec<Describe>,
}

impl Routes {
    /// No routes.
    pub fn new() -> Routes {
        Routes { router: Router::new(), described: Vec::new() }
    }

    /// Mounts `handler` at the method(s) and path of its `#[utoipa::path]`
    /// attribute `P` (what [`routes!`] names for it).
    pub fn route<P, H, T>(mut self, handler: H) -> Routes
    where
        P: utoipa::Path + SchemaReferences + Tags<'static>,
        H: Handler<T, AppState>,
        T: 'static,
    {
        let methods = P::methods()
            .iter()
            .fold(MethodRouter::new(), |router, method| router.on(method_filter(method), handler.clone()));
        // axum merges a second method router given for the same path (as
        // `push.token`'s POST and DELETE are), and refuses an overlap.
        self.router = self.router.route(&P::path(), methods);
        self.described.push(describe::<P>);
        self
    }

    /// These routes and `other`'s.
    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.described.extend(other.described);
        self
    }

    /// The router, and how to document its routes.
    pub fn split(self) -> (Router<AppState>, Vec<Describe>) {
        (self.router, self.described)
    }
}

impl Default for Routes {
    fn default() -> Routes {
        Routes::new()
    }
}

/// Adds `P`'s operation to `doc` as `utoipa_axum`'s router does: under its
/// path (merged with other methods of the same path), tagged with the
/// attribute's tags, and its schemas among the components.
fn describe<P>(doc: &mut OpenApi)
where
    P: utoipa::Path + SchemaReferences + Tags<'static>,
{
    let mut operation = P::operation();
    let tags = P::tags();
    if !tags.is_empty() {
        operation.tags.get_or_insert_with(Vec::new).extend(tags.iter().map(ToString::to_string));
    }
    let mut paths = Paths::new();
    paths.add_path_operation(P::path(), P::methods(), operation);
    for (path, item) in paths.paths {
        match doc.paths.paths.get_mut(&path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                doc.paths.paths.insert(path, item);
            }
        }
    }
    let mut schemas = Vec::new();
    P::schemas(&mut schemas);
    doc.components.get_or_insert_with(Components::new).schemas.extend(schemas);
}

fn method_filter(method: &HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Head => MethodFilter::HEAD,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Trace => MethodFilter::TRACE,
        HttpMethod::Delete => MethodFilter::DELETE,
        HttpMethod::Options => MethodFilter::OPTIONS,
    }
}

/// `routes!(handler, ...)`: the handlers' routes, each mounted at the method
/// and path of its `#[utoipa::path]` attribute (in scope by name: `use` a
/// handler from another module first).
macro_rules! routes {
    ($($handler:ident),+ $(,)?) => {
        $crate::routing::Routes::new()
            $( .route::<paste::paste!([<__path_ $handler>]), _, _>($handler) )+
    };
}
pub(crate) use routes;
