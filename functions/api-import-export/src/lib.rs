//! Pulp's import/export resources: `exporters/core/pulp/` and `exporters/core/filesystem/`
//! with their `exports/`, and `importers/core/pulp/` with its `imports/` and `import-check/`.
//! The export and import tasks are `task-export`'s and `task-import`'s; the format is
//! `depot_core::importexport`'s.

mod exporters;
mod exports;
mod importers;

use axum::Router;
use depot_core::models::exporter::{
    FilesystemExportResponse, FilesystemExporterResponse, PulpExportResponse, PulpExporterResponse,
};
use depot_core::models::importer::{ImportResponse, PulpImporterResponse};
use depot_core::models::{AsyncOperationResponse, TaskGroupOperationResponse};
use depot_core::tasks::TaskRegistry;
use depot_http::AppState;
use depot_http::crud;
use depot_http::openapi::{self, ApiDoc, JSON_FORM_MULTIPART, Op};

use exporters::{Exporters, Filesystem, Pulp};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(crud::routes::<Exporters<Pulp>>())
        .merge(crud::routes::<Exporters<Filesystem>>())
        .merge(exports::routes())
        .merge(importers::routes())
}

pub fn register_tasks(reg: &mut TaskRegistry) {
    reg.register(exporters::run_update);
}

/// The operations of the import/export resources, named as Pulp names them.
pub fn openapi(doc: &mut ApiDoc) {
    let async_op = doc.schema::<AsyncOperationResponse>();
    let filters = || {
        openapi::list_filters(
            &openapi::NAME_FILTERS,
            &["name__in", "pulp_href__in", "pulp_id__in"],
        )
    };

    let resp = doc.schema::<PulpExporterResponse>();
    let c = openapi::Crud {
        base: <Pulp as exporters::ExporterType>::BASE,
        href_param: "pulp_exporter_href",
        prefix: "exporters_core_pulp",
        tag: "Exporters: Pulp",
        filters: filters(),
        page: doc.paginated::<PulpExporterResponse>(),
        request: doc.schema::<exporters::PulpExporterBody>(),
        patched: doc.schema::<exporters::PatchedPulpExporterBody>(),
        create: Some((201, resp.clone())),
        response: resp,
        delete: true,
        async_op: Some(async_op.clone()),
    };
    openapi::add_crud(doc, c);
    let resp = doc.schema::<FilesystemExporterResponse>();
    let c = openapi::Crud {
        base: <Filesystem as exporters::ExporterType>::BASE,
        href_param: "filesystem_exporter_href",
        prefix: "exporters_core_filesystem",
        tag: "Exporters: Filesystem",
        filters: filters(),
        page: doc.paginated::<FilesystemExporterResponse>(),
        request: doc.schema::<exporters::FilesystemExporterBody>(),
        patched: doc.schema::<exporters::PatchedFilesystemExporterBody>(),
        create: Some((201, resp.clone())),
        response: resp,
        delete: true,
        async_op: Some(async_op.clone()),
    };
    openapi::add_crud(doc, c);
    let exports = [
        (
            "pulp_exporter_href",
            "pulp_pulp_export_href",
            "exporters_core_pulp_exports",
            "Exporters: Pulp Exports",
            doc.schema::<exports::PulpExportBody>(),
            doc.schema::<PulpExportResponse>(),
            doc.paginated::<PulpExportResponse>(),
        ),
        (
            "filesystem_exporter_href",
            "filesystem_filesystem_export_href",
            "exporters_core_filesystem_exports",
            "Exporters: Filesystem Exports",
            doc.schema::<exports::FilesystemExportBody>(),
            doc.schema::<FilesystemExportResponse>(),
            doc.paginated::<FilesystemExportResponse>(),
        ),
    ];
    for (parent, href, prefix, tag, body, resp, page) in exports {
        let list = format!("{{{parent}}}exports/");
        let detail = format!("{{{href}}}");
        let id = |a: &str| format!("{prefix}_{a}");
        doc.add(
            Op::new("get", list.clone(), id("list"), tag)
                .param(openapi::href_param(parent))
                .params(openapi::list_params())
                .response(200, Some(page)),
        );
        doc.add(
            Op::new("post", list, id("create"), tag)
                .param(openapi::href_param(parent))
                .body(body, JSON_FORM_MULTIPART)
                .response(202, Some(async_op.clone())),
        );
        doc.add(
            Op::new("get", detail.clone(), id("read"), tag)
                .param(openapi::href_param(href))
                .params(openapi::field_params())
                .response(200, Some(resp)),
        );
        doc.add(
            Op::new("delete", detail, id("delete"), tag)
                .param(openapi::href_param(href))
                .response(204, None),
        );
    }

    let resp = doc.schema::<PulpImporterResponse>();
    let c = openapi::Crud {
        base: importers::BASE,
        href_param: "pulp_importer_href",
        prefix: "importers_core_pulp",
        tag: "Importers: Pulp",
        filters: filters(),
        page: doc.paginated::<PulpImporterResponse>(),
        request: doc.schema::<importers::PulpImporterBody>(),
        patched: doc.schema::<importers::PatchedPulpImporterBody>(),
        create: Some((201, resp.clone())),
        response: resp,
        delete: true,
        async_op: None,
    };
    openapi::add_crud(doc, c);
    let tag = "Importers: Pulp Imports";
    let parent = "pulp_importer_href";
    let href = "pulp_pulp_import_href";
    let list = format!("{{{parent}}}imports/");
    let group_op = doc.schema::<TaskGroupOperationResponse>();
    let page = doc.paginated::<ImportResponse>();
    let body = doc.schema::<importers::PulpImportBody>();
    let resp = doc.schema::<ImportResponse>();
    doc.add(
        Op::new("get", list.clone(), "importers_core_pulp_imports_list", tag)
            .param(openapi::href_param(parent))
            .params(openapi::list_params())
            .response(200, Some(page)),
    );
    doc.add(
        Op::new("post", list, "importers_core_pulp_imports_create", tag)
            .param(openapi::href_param(parent))
            .body(body, JSON_FORM_MULTIPART)
            .response(202, Some(group_op)),
    );
    doc.add(
        Op::new(
            "get",
            format!("{{{href}}}"),
            "importers_core_pulp_imports_read",
            tag,
        )
        .param(openapi::href_param(href))
        .params(openapi::field_params())
        .response(200, Some(resp)),
    );
    doc.add(
        Op::new(
            "delete",
            format!("{{{href}}}"),
            "importers_core_pulp_imports_delete",
            tag,
        )
        .param(openapi::href_param(href))
        .response(204, None),
    );
    let body = doc.schema::<importers::PulpImportCheckBody>();
    let resp = doc.schema::<importers::PulpImportCheckResponse>();
    doc.add(
        Op::new(
            "post",
            importers::CHECK,
            "pulp_import_check_post",
            "Importers: Pulp Import Check",
        )
        .summary("Validate the parameters to be used for a PulpImport call")
        .body(body, JSON_FORM_MULTIPART)
        .response(200, Some(resp)),
    );
}
