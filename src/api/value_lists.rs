//! `riskgate.v1.ValueListService`: Stripe-shaped value lists over gRPC, backed by a
//! [`ValueListStore`]: the durable journal, or Redis shared by every replica. Every call needs the
//! admin token.

use std::{collections::BTreeMap, sync::Arc};

use tonic::{Request, Response, Status};

use crate::api::{auth::AdminAuth, error::ApiError, validate::FieldViolation};
use crate::{
    clock::Clock,
    proto::v1::{self as pb, value_list_service_server::ValueListService},
    stores::lists::{
        backend::ValueListStore,
        journal::{Page, ValueList, ValueListItem},
    },
    stripe::lists::{SyncedLists, read_only_message},
};
use riskgate_core::lists::ItemType;

/// Who the API records as `created_by`.
const API_ACTOR: &str = "api";

/// The value list service.
#[derive(Clone)]
pub struct ValueListsService {
    store: Arc<dyn ValueListStore>,
    auth: AdminAuth,
    livemode: bool,
    /// Lists mirrored from Stripe: read-only here.
    synced: Option<Arc<SyncedLists>>,
    clock: Clock,
}

impl ValueListsService {
    pub fn new(store: Arc<dyn ValueListStore>, auth: AdminAuth, livemode: bool) -> Self {
        Self {
            store,
            auth,
            livemode,
            synced: None,
            clock: Clock::system(),
        }
    }

    /// Dates new lists and items by `clock`.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Refuses changes to the lists `synced` mirrors from Stripe.
    pub fn with_synced(mut self, synced: Option<Arc<SyncedLists>>) -> Self {
        self.synced = synced;
        self
    }

    /// FAILED_PRECONDITION when `id_or_alias` names a list mirrored from Stripe (or one of its
    /// items).
    fn writable(&self, id_or_alias: &str) -> Result<(), Status> {
        match self.synced.as_ref().and_then(|s| s.owner(id_or_alias)) {
            Some(stripe_id) => {
                Err(ApiError::FailedPrecondition(read_only_message(id_or_alias, &stripe_id)).into())
            }
            None => Ok(()),
        }
    }

    fn list_pb(&self, l: ValueList) -> pb::ValueList {
        pb::ValueList {
            id: l.id,
            object: "radar.value_list".into(),
            alias: l.alias,
            name: l.name,
            item_type: l.item_type.as_str().into(),
            created: l.created,
            created_by: l.created_by,
            metadata: l.metadata,
            livemode: self.livemode,
        }
    }

    fn item_pb(&self, i: ValueListItem) -> pb::ValueListItem {
        pb::ValueListItem {
            id: i.id,
            object: "radar.value_list_item".into(),
            value: i.value,
            value_list: i.value_list,
            created: i.created,
            created_by: i.created_by,
            livemode: self.livemode,
        }
    }
}

fn invalid(field: &str, description: impl Into<String>) -> Status {
    ApiError::InvalidArgument(vec![FieldViolation {
        field: field.into(),
        description: description.into(),
    }])
    .into()
}

fn required(field: &str, value: &str) -> Result<(), Status> {
    if value.trim().is_empty() {
        Err(invalid(field, "required"))
    } else {
        Ok(())
    }
}

fn page(limit: u32, starting_after: &str) -> Result<Page<'_>, Status> {
    if limit > 100 {
        return Err(invalid("limit", "must be between 1 and 100"));
    }
    Ok(Page {
        limit: limit as usize,
        starting_after: (!starting_after.is_empty()).then_some(starting_after),
    })
}

fn deleted(id: String, object: &str) -> pb::DeletedObject {
    pb::DeletedObject {
        id,
        object: object.into(),
        deleted: true,
    }
}

#[tonic::async_trait]
impl ValueListService for ValueListsService {
    async fn create_value_list(
        &self,
        request: Request<pb::CreateValueListRequest>,
    ) -> Result<Response<pb::ValueList>, Status> {
        self.auth.check(request.metadata())?;
        let r = request.into_inner();
        required("alias", &r.alias)?;
        required("name", &r.name)?;
        self.writable(&r.alias)?;
        let item_type = if r.item_type.is_empty() {
            ItemType::String
        } else {
            ItemType::parse(&r.item_type).ok_or_else(|| {
                invalid(
                    "item_type",
                    format!(
                        "must be one of {}",
                        ItemType::ALL
                            .iter()
                            .map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?
        };
        let list = self
            .store
            .create_list(
                &r.alias,
                &r.name,
                item_type,
                r.metadata,
                self.clock.now(),
                API_ACTOR,
            )
            .await
            .map_err(ApiError::from)?;
        tracing::info!(list = %list.id, alias = %list.alias, "value list created");
        Ok(Response::new(self.list_pb(list)))
    }

    async fn retrieve_value_list(
        &self,
        request: Request<pb::RetrieveValueListRequest>,
    ) -> Result<Response<pb::ValueList>, Status> {
        self.auth.check(request.metadata())?;
        let id = &request.get_ref().id;
        required("id", id)?;
        let list = self.store.retrieve_list(id).await.map_err(ApiError::from)?;
        Ok(Response::new(self.list_pb(list)))
    }

    async fn update_value_list(
        &self,
        request: Request<pb::UpdateValueListRequest>,
    ) -> Result<Response<pb::ValueList>, Status> {
        self.auth.check(request.metadata())?;
        let r = request.into_inner();
        required("id", &r.id)?;
        self.writable(&r.id)?;
        let metadata: BTreeMap<String, String> = r.metadata;
        let list = self
            .store
            .update_list(&r.id, r.name.as_deref(), &metadata)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(self.list_pb(list)))
    }

    async fn delete_value_list(
        &self,
        request: Request<pb::DeleteValueListRequest>,
    ) -> Result<Response<pb::DeletedObject>, Status> {
        self.auth.check(request.metadata())?;
        let id = request.into_inner().id;
        required("id", &id)?;
        self.writable(&id)?;
        self.store.delete_list(&id).await.map_err(ApiError::from)?;
        tracing::info!(list = %id, "value list deleted");
        Ok(Response::new(deleted(id, "radar.value_list")))
    }

    async fn list_value_lists(
        &self,
        request: Request<pb::ListValueListsRequest>,
    ) -> Result<Response<pb::ListValueListsResponse>, Status> {
        self.auth.check(request.metadata())?;
        let r = request.get_ref();
        let alias = (!r.alias.is_empty()).then_some(r.alias.as_str());
        let (lists, has_more) = self
            .store
            .list_lists(page(r.limit, &r.starting_after)?, alias)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListValueListsResponse {
            object: "list".into(),
            data: lists.into_iter().map(|l| self.list_pb(l)).collect(),
            has_more,
        }))
    }

    async fn create_value_list_item(
        &self,
        request: Request<pb::CreateValueListItemRequest>,
    ) -> Result<Response<pb::ValueListItem>, Status> {
        self.auth.check(request.metadata())?;
        let r = request.into_inner();
        required("value_list", &r.value_list)?;
        required("value", &r.value)?;
        self.writable(&r.value_list)?;
        let item = self
            .store
            .create_item(&r.value_list, &r.value, self.clock.now(), API_ACTOR)
            .await
            .map_err(ApiError::from)?;
        tracing::info!(item = %item.id, list = %item.value_list, "value list item created");
        Ok(Response::new(self.item_pb(item)))
    }

    async fn retrieve_value_list_item(
        &self,
        request: Request<pb::RetrieveValueListItemRequest>,
    ) -> Result<Response<pb::ValueListItem>, Status> {
        self.auth.check(request.metadata())?;
        let id = &request.get_ref().id;
        required("id", id)?;
        let item = self.store.retrieve_item(id).await.map_err(ApiError::from)?;
        Ok(Response::new(self.item_pb(item)))
    }

    async fn delete_value_list_item(
        &self,
        request: Request<pb::DeleteValueListItemRequest>,
    ) -> Result<Response<pb::DeletedObject>, Status> {
        self.auth.check(request.metadata())?;
        let id = request.into_inner().id;
        required("id", &id)?;
        self.writable(&id)?;
        self.store.delete_item(&id).await.map_err(ApiError::from)?;
        tracing::info!(item = %id, "value list item deleted");
        Ok(Response::new(deleted(id, "radar.value_list_item")))
    }

    async fn list_value_list_items(
        &self,
        request: Request<pb::ListValueListItemsRequest>,
    ) -> Result<Response<pb::ListValueListItemsResponse>, Status> {
        self.auth.check(request.metadata())?;
        let r = request.get_ref();
        required("value_list", &r.value_list)?;
        let value = (!r.value.is_empty()).then_some(r.value.as_str());
        let (items, has_more) = self
            .store
            .list_items(&r.value_list, page(r.limit, &r.starting_after)?, value)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::ListValueListItemsResponse {
            object: "list".into(),
            data: items.into_iter().map(|i| self.item_pb(i)).collect(),
            has_more,
        }))
    }
}
