//! Every refusal threadsync sends, one variant per error, and the one
//! `match` ([`Reject::parts`]) that gives each its envelope, its code and
//! its words. Handlers and services refuse with a variant
//! (`Error::from(Reject::InvalidUser)`); nothing else writes an error's
//! text.
//!
//! The words are Rocket.Chat's, byte for byte, where Rocket.Chat has the
//! error (clients and their test suites compare them), including its
//! inconsistencies: the same idea is sometimes worded or capitalised two
//! ways on two routes (`Not allowed`, `Not Allowed`), and each route keeps
//! its own. Values a client sent are cut to 200 characters ([`echo`]) where
//! they are repeated back, so an error never grows with its input.

use crate::error::{echo, Code, Error};
use crate::RoomType;
use std::borrow::Cow;

/// How a refusal goes on the wire (each with status 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// `{"error": "<words> [<code>]", "errorType": "<code>"}`.
    Rejected(Code),
    /// Rocket.Chat's `API.v1.failure(words, code)`: `{"error": "<words>",
    /// "errorType": "<code>"}`.
    Failure(Code),
    /// An older Rocket.Chat error with no code: `{"error": "<words>"}`.
    Legacy,
}

/// A room role, for the refusals of `channels.addOwner` and its kin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomRoleName {
    Owner,
    Moderator,
    Leader,
}

/// Every refusal the server sends. Unit variants have fixed words; the
/// others carry the values their words repeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reject {
    AccessPermissionsNotAllowed,
    ActionNotAllowed,
    AdminRequired,
    AssignAdminNotAllowed,
    AssignRolesNotAllowed,
    AuthorNotFound,
    AvatarFormExpected,
    AvatarNotAnImage,
    AvatarUrlUnsupported,
    BenchUpdatedSince,
    BodyHasNul,
    CallerNotInRoom,
    ChannelNotFound,
    ChannelNotResolved,
    ClockModeNotNumber,
    CustomFieldsRequired,
    DirectRoomNotFound,
    DirectSelectorMissingInBody,
    DirectSelectorMissingInQuery,
    DirectoryQueryInvalid,
    DiscussionNameMissing,
    DiscussionUsersNotArray,
    DiscussionUsersNotUsernames,
    EditUserNotAllowed,
    EmailRequired,
    EmojiMissing,
    EnterpriseFeature,
    FavoriteMissing,
    FavoriteNeedsMembership,
    FileNotFound,
    FileTooLarge,
    FileTypeNotAccepted,
    FileUploadDisabled,
    FromDateInvalid,
    InvalidArguments,
    InvalidBodyParams,
    InvalidChannel,
    InvalidDescription,
    InvalidEmoji,
    InvalidMessage,
    InvalidMessageCapitalised,
    InvalidMessageId,
    InvalidMethodCall,
    InvalidPermission,
    InvalidQuery,
    InvalidQueryLegacy,
    InvalidRole,
    InvalidRoleIdBare,
    InvalidRoleProperties,
    InvalidRoom,
    InvalidScope,
    InvalidStatus,
    InvalidSubscription,
    InvalidType,
    InvalidUser,
    InvisibleStatusDisabled,
    JoinCodeInvalid,
    JoinCodeRequired,
    LastUpdateInvalid,
    LastUpdateMissing,
    MessageEditingNotAllowed,
    MessageIdMalformed,
    MessageIdMissing,
    MessageIdTaken,
    MessageIdUnknown,
    MessageInOtherRoom,
    MessageMissing,
    MessageRidMissing,
    MessageSizeExceeded,
    MessageSizeExceededBare,
    MethodNotAuthorized,
    MidMissing,
    NameLength,
    NameTooLong,
    NestedDiscussion,
    NoActiveAdminLeft,
    NoAdminLeft,
    NoFileUploaded,
    NotAllowed,
    NotAllowedCapitalised,
    NotAllowedDashed,
    NotAuthorized,
    NotSubscribed,
    OneFileOnly,
    OptionalUserIdUnknown,
    OptionalUserUnknown,
    PasswordLength,
    PathHasNul,
    PathSegmentInvalid,
    PridMissing,
    ProtectedRoleDelete,
    PushAppNameInvalid,
    PushIdInvalid,
    PushTokenInvalid,
    PushTypeInvalid,
    PushValueInvalid,
    QueryHasNul,
    QueryStringUnparsable,
    ReadOnlyDelete,
    ReadOnlySend,
    ReadThreadsNotBoolean,
    RegistrationNeedsSecret,
    RemoveLastOwner,
    ReportDescriptionMissing,
    ReportMessageIdMissing,
    RidMissing,
    RidRequired,
    RoleDoesNotExist,
    RoleInUse,
    RoleNameTaken,
    RoleNotFound,
    RoleParamMissing,
    RoleProtected,
    RoomIdMissing,
    RoomIdQueryMissing,
    RoomIsArchived,
    RoomTypeChangeInvalid,
    RoomTypeParamInvalid,
    SchemaEmptyString,
    SchemaNotAllowedValue,
    SchemaRidMissing,
    SchemaRoomIdMissing,
    SearchTextMissing,
    ShouldReactNotBoolean,
    SinceInvalid,
    SinceMissing,
    StatusChangeNotAllowed,
    ThreadsDisabled,
    TmidMissing,
    TopicRequired,
    TshowWithoutTmid,
    UpdatedSinceInvalid,
    UpdatedSinceInvalidRoomIdCode,
    UpdatedSinceMissing,
    UploadCustomFieldsNotObject,
    UploadFieldInvalid,
    UploadFileInvalid,
    UploadFormExpected,
    UploadTshowNotBoolean,
    UserAlreadyInRole,
    UserIdRequired,
    UserLimitExceeded,
    UserNotFound,
    UserNotFoundLegacy,
    UserNotInGivenRoom,
    UserNotInRole,
    UserNotInRoom,
    UserSelectorMissing,
    UserSelectorMissingGeneric,
    UserUnknown,
    UsernameAndUsernames,
    UsernameChangeNotAllowed,
    UsersListQueryUnsupported,
    WebsocketExpected,
    YouAreLastOwner,

    // Words that repeat the request's values.
    /// The JSON body does not parse (`detail` says where).
    BodyJsonInvalid {
        detail: String,
    },
    /// The body does not fit the route's shape.
    BodyInvalid {
        detail: String,
    },
    /// A form key nested deeper than `depth` levels.
    FormTooDeep {
        key: String,
        depth: usize,
    },
    /// The body could not be read off the connection.
    BodyUnreadable {
        detail: String,
    },
    /// A required query parameter is absent.
    QueryParamMissing {
        name: String,
    },
    /// A required parameter (body or query) is absent.
    ParamMissing {
        name: String,
    },
    /// A body parameter that must be a boolean.
    BodyParamNotBoolean {
        name: String,
    },
    /// Rocket.Chat's request-schema failures (`users.setActiveStatus`).
    SchemaPropertyMissing {
        property: String,
    },
    SchemaNotString,
    SchemaNotBoolean,
    /// A multipart body that does not parse.
    MultipartInvalid {
        detail: String,
    },
    UploadTooManyFields {
        max: usize,
    },
    /// A room parameter matching several rooms.
    ParamNotOneRoom {
        name: String,
    },
    /// `The bodyParam "<name>" is required` (no code).
    BodyParamRequired {
        name: String,
    },
    /// `Body parameter "<name>" is required.` (no code).
    BodyParameterRequired {
        name: String,
    },
    /// A query selector (`query=`) that does not parse.
    QuerySelectorInvalid {
        detail: String,
    },
    DiscussionNotAllowed,
    DiscussionStartNotAllowed,
    DiscussionTooManyUsers {
        max: usize,
    },
    PreferenceTooLarge {
        key: String,
    },
    RoleUnknown {
        role: String,
    },
    MessageContentTooLarge {
        max: usize,
    },
    /// `chat.update` of a message that does not exist (echoed).
    MessageNotFoundById {
        id: String,
    },
    /// The same, from routes that answer without a code.
    MessageNotFoundLegacy {
        id: String,
    },
    MessageFieldInvalid {
        field: String,
        expected: String,
    },
    ForceDeleteRequired,
    AvatarChangeNotAllowed,
    /// An upload that ended before its declared end.
    ImageIncomplete {
        detail: String,
    },
    FileIncomplete {
        detail: String,
    },
    UploadFieldNotString {
        key: String,
    },
    QueryDateInvalid {
        name: String,
    },
    QueryBoolInvalid {
        name: String,
    },
    QueryIntInvalid {
        name: String,
    },
    QueryMillisInvalid {
        name: String,
    },
    BodyDateInvalid {
        name: String,
    },
    /// A room that does not exist in the route's family (or that the
    /// caller may not know of).
    RoomNotFoundIn {
        family: RoomType,
    },
    /// Neither `roomId` nor `roomName`: `groups.*` spell the code
    /// `error-room-param-not-provided`, the others `error-roomid-...`.
    RoomSelectorMissing {
        family: Option<RoomType>,
    },
    /// `shown` is the name as given, already escaped for HTML.
    RoomNameInvalid {
        shown: String,
    },
    ChannelNameTaken {
        name: String,
    },
    UsernamesUnknown {
        names: Vec<String>,
    },
    DirectMessageTooManyUsers {
        max: usize,
    },
    GroupDoesNotExist,
    ChannelDoesNotExist,
    /// A sync from before the tombstone horizon.
    ResyncRequired {
        param: String,
        what: String,
    },
    SyncLastUpdateWithCursor,
    SyncCursorBoth,
    SyncCursorNeedsType,
    SyncCursorTypeInvalid,
    UsernameInvalid {
        username: String,
    },
    UsernameBlocked {
        username: String,
    },
    EmailInvalid {
        email: String,
    },
    UsernameTaken {
        username: String,
    },
    EmailTaken {
        email: String,
    },
    SortInvalid {
        raw: String,
        reason: String,
    },
    /// `users.list`'s sort (it repeats 64 characters of the input).
    UserSortInvalid {
        raw: String,
        reason: String,
    },
    /// A setting's new value that its type refuses (`reason` says why).
    SettingValueInvalid {
        reason: String,
    },
    FieldsInvalid {
        raw: String,
        reason: String,
    },
    QueryInvalid {
        raw: String,
        reason: String,
    },
    AccessPermissionsNotAllowedRemove,
    CleanTooManyUsers {
        max: usize,
    },
    /// `rooms.leave` / `*.close` of a room the caller is not in (the
    /// closing form lacks its closing quote, as in Rocket.Chat).
    NotInChannel {
        name: String,
        open: bool,
    },
    DirectAlreadyClosed {
        rid: String,
    },
    GroupAlreadyInState {
        name: String,
        open: bool,
    },
    ChannelAlreadyInState {
        name: String,
        open: bool,
    },
    TextFilterTooLong {
        max: usize,
    },
    NameFilterTooLong {
        max: usize,
    },
    RoomTypeUnknown {
        given: String,
    },
    EditRoomNotAllowed,
    ViewRoomAdministrationNotAllowed,
    EditReadOnlyNotAllowed,
    GroupToChannelNotAllowed,
    ChannelToGroupNotAllowed,
    SameReadOnly {
        noun: String,
    },
    SameName {
        noun: String,
    },
    SameType {
        noun: String,
    },
    AlreadyArchived {
        noun: String,
        name: String,
    },
    NotArchived {
        noun: String,
        name: String,
    },
    DefaultRequired,
    SameDefault,
    RoleAlreadyHeld {
        role: RoomRoleName,
    },
    RoleNotHeld {
        role: RoomRoleName,
    },
    SettingNotFound {
        id: String,
    },
    /// Meteor's `check()` failure (no code).
    MatchFailed {
        detail: String,
    },
    /// A realtime signal the store would not carry.
    SignalRefused {
        detail: String,
    },
}

impl Reject {
    /// The envelope, the code and the words of the refusal: the one place
    /// where each is chosen.
    pub fn parts(&self) -> (Wire, Cow<'static, str>) {
        use Reject::*;
        use Wire::{Failure, Legacy, Rejected};
        let ip = Rejected(Code::InvalidParams);
        match self {
            AccessPermissionsNotAllowed => (Rejected(Code::ActionNotAllowed), "Accessing permissions is not allowed".into()),
            ActionNotAllowed => (Rejected(Code::ActionNotAllowed), "Not allowed".into()),
            AdminRequired => (Rejected(Code::AdminRequired), "You need to have at least one admin".into()),
            AssignAdminNotAllowed => (Rejected(Code::ActionNotAllowed), "Assigning admin is not allowed".into()),
            AssignRolesNotAllowed => (Rejected(Code::ActionNotAllowed), "Assign roles is not allowed".into()),
            AuthorNotFound => (Legacy, "User not found".into()),
            AvatarFormExpected => (Rejected(Code::InvalidParams), "The picture must be sent as multipart/form-data, in the field \"image\".".into()),
            AvatarNotAnImage => (Rejected(Code::InvalidImage), "The avatar must be an image".into()),
            AvatarUrlUnsupported => (Rejected(Code::AvatarUrlHandling), "Setting an avatar from a URL is not supported".into()),
            BenchUpdatedSince => (Rejected(Code::InvalidParams), "updatedSince".into()),
            BodyHasNul => (Rejected(Code::InvalidParams), "Invalid request body: strings may not contain NUL characters".into()),
            CallerNotInRoom => (Rejected(Code::UserNotInRoom), "You are not in this room".into()),
            ChannelNotFound => (Rejected(Code::RoomNotFound), "The required \"roomId\" or \"roomName\" param provided does not match any channel".into()),
            ChannelNotResolved => (Rejected(Code::InvalidChannel), "".into()),
            ClockModeNotNumber => (Legacy, "Match error: Expected number, got string in field data.clockMode".into()),
            CustomFieldsRequired => (Legacy, "The bodyParam \"customFields\" is required with a type like object.".into()),
            DirectRoomNotFound => (Rejected(Code::RoomNotFound), "The required \"roomId\" or \"username\" param provided does not match any direct message".into()),
            DirectSelectorMissingInBody => (Rejected(Code::RoomParamNotProvided), "Body param \"roomId\" or \"username\" is required".into()),
            DirectSelectorMissingInQuery => (Rejected(Code::RoomParamNotProvided), "Query param \"roomId\" or \"username\" is required".into()),
            DirectoryQueryInvalid => (Rejected(Code::InvalidParams), "Invalid query parameter provided".into()),
            DiscussionNameMissing => (Rejected(Code::InvalidParams), "Body parameter \"t_name\" is required.".into()),
            DiscussionUsersNotArray => (Rejected(Code::InvalidParams), "Body parameter \"users\" must be an array.".into()),
            DiscussionUsersNotUsernames => (Rejected(Code::InvalidParams), "Body parameter \"users\" must be an array of usernames.".into()),
            EditUserNotAllowed => (Rejected(Code::ActionNotAllowed), "Editing user is not allowed".into()),
            EmailRequired => (Legacy, "The 'email' param is required".into()),
            EmojiMissing => (Rejected(Code::EmojiParamNotProvided), "The required \"emoji\" param is missing.".into()),
            EnterpriseFeature => (Rejected(Code::ActionNotAllowed), "This is an enterprise feature".into()),
            FavoriteMissing => (Rejected(Code::InvalidParams), "The 'favorite' param is required".into()),
            FavoriteNeedsMembership => (Rejected(Code::InvalidSubscription), "You must be part of a room to favorite it".into()),
            FileNotFound => (Rejected(Code::FileNotFound), "File not found".into()),
            FileTooLarge => (Rejected(Code::FileTooLarge), "".into()),
            FileTypeNotAccepted => (Rejected(Code::InvalidFileType), "File type is not accepted.".into()),
            FileUploadDisabled => (Rejected(Code::FileUploadDisabled), "File upload is disabled".into()),
            FromDateInvalid => (Rejected(Code::InvalidParams), "The \"from\" query parameter must be a valid date.".into()),
            InvalidArguments => (Rejected(Code::InvalidArguments), "Invalid arguments".into()),
            InvalidBodyParams => (Rejected(Code::InvalidBodyParams), "Invalid body params".into()),
            InvalidChannel => (Rejected(Code::InvalidChannel), "Invalid channel".into()),
            InvalidDescription => (Rejected(Code::InvalidDescription), "Invalid description".into()),
            InvalidEmoji => (Rejected(Code::NotAllowed), "Invalid emoji provided.".into()),
            InvalidMessage => (Rejected(Code::InvalidMessage), "Invalid message".into()),
            InvalidMessageCapitalised => (Rejected(Code::InvalidMessage), "Invalid Message".into()),
            InvalidMessageId => (Rejected(Code::InvalidMessageId), "Invalid message id".into()),
            InvalidMethodCall => (Legacy, "Invalid method call".into()),
            InvalidPermission => (Rejected(Code::InvalidPermission), "Invalid permission".into()),
            InvalidQuery => (Rejected(Code::InvalidQuery), "Invalid query".into()),
            InvalidQueryLegacy => (Legacy, "Invalid query".into()),
            InvalidRole => (Rejected(Code::InvalidRole), "Invalid role".into()),
            InvalidRoleIdBare => (Rejected(Code::InvalidRoleId), "".into()),
            InvalidRoleProperties => (Rejected(Code::InvalidRoleProperties), "The role properties are invalid.".into()),
            InvalidRoom => (Rejected(Code::InvalidRoom), "Invalid room".into()),
            InvalidScope => (Rejected(Code::InvalidScope), "Invalid scope".into()),
            InvalidStatus => (Rejected(Code::InvalidStatus), "Valid status types include online, away, offline, and busy.".into()),
            InvalidSubscription => (Rejected(Code::InvalidSubscription), "Invalid subscription".into()),
            InvalidType => (Rejected(Code::InvalidType), "Invalid type".into()),
            InvalidUser => (Rejected(Code::InvalidUser), "Invalid user".into()),
            InvisibleStatusDisabled => (Rejected(Code::StatusNotAllowed), "Invisible status is disabled".into()),
            JoinCodeInvalid => (Rejected(Code::CodeInvalid), "Invalid code".into()),
            JoinCodeRequired => (Rejected(Code::CodeRequired), "Code required".into()),
            LastUpdateInvalid => (Rejected(Code::LastUpdateParamInvalid), "The \"lastUpdate\" query parameter must be a valid date.".into()),
            LastUpdateMissing => (Rejected(Code::LastUpdateParamNotProvided), "The required \"lastUpdate\" query param is missing.".into()),
            MessageEditingNotAllowed => (Rejected(Code::ActionNotAllowed), "Message editing not allowed".into()),
            MessageIdMalformed => (Rejected(Code::InvalidParams), "The \"_id\" property on the message object must be 1 to 64 characters of letters, digits, '.', '_' or '-'.".into()),
            MessageIdMissing => (Rejected(Code::MessageidParamNotProvided), "The required \"messageId\" param is missing.".into()),
            MessageIdTaken => (Rejected(Code::DuplicateId), "A message with this _id already exists".into()),
            MessageIdUnknown => (Rejected(Code::MessageNotFound), "The provided \"messageId\" does not match any existing message.".into()),
            MessageInOtherRoom => (Legacy, "The room id provided does not match where the message is from.".into()),
            MessageMissing => (Rejected(Code::InvalidParams), "The \"message\" parameter must be provided.".into()),
            MessageRidMissing => (Legacy, "The 'rid' property on the message object is missing.".into()),
            MessageSizeExceeded => (Rejected(Code::MessageSizeExceeded), "Message size exceeds Message_MaxAllowedSize".into()),
            MessageSizeExceededBare => (Rejected(Code::MessageSizeExceeded), "".into()),
            MethodNotAuthorized => (Rejected(Code::MethodNotAuthorized), "Not Authorized".into()),
            MidMissing => (Rejected(Code::InvalidParams), "The required \"mid\" body param is missing.".into()),
            NameLength => (Rejected(Code::InvalidParams), "The name must be 1 to 256 characters long.".into()),
            NameTooLong => (Rejected(Code::InvalidParams), "The name is too long.".into()),
            NestedDiscussion => (Rejected(Code::NestedDiscussion), "Cannot create nested discussions".into()),
            NoActiveAdminLeft => (Rejected(Code::ActionNotAllowed), "Leaving the app without an active admin is not allowed".into()),
            NoAdminLeft => (Rejected(Code::ActionNotAllowed), "Leaving the app without admins is not allowed".into()),
            NoFileUploaded => (Rejected(Code::NoFile), "No file uploaded".into()),
            NotAllowed => (Rejected(Code::NotAllowed), "Not allowed".into()),
            NotAllowedCapitalised => (Rejected(Code::NotAllowed), "Not Allowed".into()),
            NotAllowedDashed => (Rejected(Code::NotAllowed), "not-allowed".into()),
            NotAuthorized => (Rejected(Code::NotAuthorized), "Not authorized".into()),
            NotSubscribed => (Legacy, "The user is not subscribed to the room".into()),
            OneFileOnly => (Rejected(Code::InvalidParams), "Just 1 file is allowed".into()),
            OptionalUserIdUnknown => (Rejected(Code::InvalidUser), "The optional \"userId\" param provided does not match any users".into()),
            OptionalUserUnknown => (Rejected(Code::InvalidUser), "The optional \"userId\" or \"username\" param provided does not match any users".into()),
            PasswordLength => (Rejected(Code::InvalidParams), "The password must be 1 to 1024 characters long.".into()),
            PathHasNul => (Rejected(Code::InvalidParams), "Invalid URL: a path segment may not contain NUL characters".into()),
            PathSegmentInvalid => (Rejected(Code::InvalidParams), "Invalid URL: a path segment is not valid".into()),
            PridMissing => (Rejected(Code::InvalidParams), "Body parameter \"prid\" is required.".into()),
            ProtectedRoleDelete => (Rejected(Code::RoleProtected), "Cannot delete a protected role".into()),
            PushAppNameInvalid => (Rejected(Code::AppNameParamNotValid), "The required \"appName\" body param is missing or invalid.".into()),
            PushIdInvalid => (Rejected(Code::IdParamNotValid), "The required \"id\" body param is invalid.".into()),
            PushTokenInvalid => (Rejected(Code::TokenParamNotValid), "The required \"token\" body param is missing or invalid.".into()),
            PushTypeInvalid => (Rejected(Code::TypeParamNotValid), "The required \"type\" body param is missing or invalid.".into()),
            PushValueInvalid => (Rejected(Code::TokenParamNotValid), "The required \"value\" body param is missing or invalid.".into()),
            QueryHasNul => (Rejected(Code::InvalidParams), "Query parameters may not contain NUL characters.".into()),
            QueryStringUnparsable => (Rejected(Code::InvalidParams), "The query string could not be parsed.".into()),
            ReadOnlyDelete => (Rejected(Code::NotAllowed), "You can't delete messages because the room is readonly.".into()),
            ReadOnlySend => (Rejected(Code::NotAllowed), "You can't send messages because the room is readonly.".into()),
            ReadThreadsNotBoolean => (Rejected(Code::InvalidParams), "The \"readThreads\" param must be a boolean.".into()),
            RegistrationNeedsSecret => (Rejected(Code::UserRegistrationSecret), "User registration is only allowed via Secret URL".into()),
            RemoveLastOwner => (Rejected(Code::RemoveLastOwner), "This is the last owner. Please set a new owner before removing this one.".into()),
            ReportDescriptionMissing => (Legacy, "The required \"description\" param is missing.".into()),
            ReportMessageIdMissing => (Legacy, "The required \"messageId\" param is missing.".into()),
            RidMissing => (Rejected(Code::RoomDashIdParamNotProvided), "The required \"rid\" query param is missing.".into()),
            RidRequired => (Rejected(Code::RoomDashIdParamNotProvided), "The required \"rid\" param is required.".into()),
            RoleDoesNotExist => (Rejected(Code::InvalidRoleId), "This role does not exist".into()),
            RoleInUse => (Rejected(Code::RoleInUse), "Cannot delete role because it's in use".into()),
            RoleNameTaken => (Rejected(Code::DuplicateRoleNamesNotAllowed), "Role name already exists".into()),
            RoleNotFound => (Rejected(Code::RoleNotFound), "Role not found".into()),
            RoleParamMissing => (Rejected(Code::ParamNotProvided), "Query param \"role\" is required".into()),
            RoleProtected => (Rejected(Code::RoleProtected), "Role is protected".into()),
            RoomIdMissing => (Rejected(Code::RoomIdParamNotProvided), "The required \"roomId\" query param is missing.".into()),
            RoomIdQueryMissing => (Rejected(Code::InvalidParams), "The required \"roomId\" query param is missing.".into()),
            RoomIsArchived => (Legacy, "room_is_archived".into()),
            RoomTypeChangeInvalid => (Rejected(Code::InvalidParams), "A room's type may be changed to \"c\" or \"p\" only.".into()),
            RoomTypeParamInvalid => (Rejected(Code::InvalidParams), "The bodyParam \"type\" must be \"c\" or \"p\".".into()),
            SchemaEmptyString => (Rejected(Code::SchemaInvalidParams), "must NOT have fewer than 1 characters".into()),
            SchemaNotAllowedValue => (Rejected(Code::SchemaInvalidParams), "must be equal to one of the allowed values".into()),
            SchemaRidMissing => (Rejected(Code::SchemaInvalidParams), "must have required property 'rid'".into()),
            SchemaRoomIdMissing => (Rejected(Code::SchemaInvalidParams), "must have required property 'roomId'".into()),
            SearchTextMissing => (Rejected(Code::SearchTextParamNotProvided), "The required \"searchText\" query param is missing.".into()),
            ShouldReactNotBoolean => (Rejected(Code::InvalidParams), "The \"shouldReact\" param must be a boolean.".into()),
            SinceInvalid => (Rejected(Code::SinceParamInvalid), "The \"since\" query parameter must be a valid date.".into()),
            SinceMissing => (Rejected(Code::SinceParamNotProvided), "The required \"since\" query param is missing.".into()),
            StatusChangeNotAllowed => (Rejected(Code::NotAllowed), "Change status is not allowed".into()),
            ThreadsDisabled => (Rejected(Code::NotAllowed), "Threads Disabled".into()),
            TmidMissing => (Rejected(Code::InvalidParams), "The required \"tmid\" query param is missing.".into()),
            TopicRequired => (Legacy, "The bodyParam 'topic' is required".into()),
            TshowWithoutTmid => (Rejected(Code::SchemaInvalidParams), "tshow provided but missing tmid".into()),
            UpdatedSinceInvalid => (Rejected(Code::UpdatedSinceParamInvalid), "The \"updatedSince\" query parameter must be a valid date.".into()),
            UpdatedSinceInvalidRoomIdCode => (Rejected(Code::RoomIdParamInvalid), "The \"updatedSince\" query parameter must be a valid date.".into()),
            UpdatedSinceMissing => (Rejected(Code::UpdatedSinceParamInvalid), "The required param \"updatedSince\" is missing.".into()),
            UploadCustomFieldsNotObject => (Rejected(Code::InvalidParams), "The \"customFields\" field must be a JSON object.".into()),
            UploadFieldInvalid => (Rejected(Code::InvalidField), "".into()),
            UploadFileInvalid => (Rejected(Code::InvalidFile), "".into()),
            UploadFormExpected => (Rejected(Code::InvalidParams), "The request body must be multipart/form-data, with the file in the field \"file\".".into()),
            UploadTshowNotBoolean => (Rejected(Code::InvalidParams), "The \"tshow\" field must be a boolean.".into()),
            UserAlreadyInRole => (Rejected(Code::UserAlreadyInRole), "User already in role".into()),
            UserIdRequired => (Rejected(Code::UserIdParamNotProvided), "The required \"userId\" param is required.".into()),
            UserLimitExceeded => (Rejected(Code::UserLimitExceeded), "User Limit Exceeded".into()),
            UserNotFound => (Rejected(Code::InvalidUser), "User not found.".into()),
            UserNotFoundLegacy => (Legacy, "User not found.".into()),
            UserNotInGivenRoom => (Rejected(Code::InvalidUser), "User is not part of given room".into()),
            UserNotInRole => (Rejected(Code::UserNotInRole), "User is not in this role".into()),
            UserNotInRoom => (Rejected(Code::UserNotInRoom), "User is not in this room".into()),
            UserSelectorMissing => (Rejected(Code::UserParamNotProvided), "The required \"userId\" or \"username\" param was not provided".into()),
            UserSelectorMissingGeneric => (Rejected(Code::InvalidParams), "The required \"userId\" or \"username\" param was not provided".into()),
            UserUnknown => (Rejected(Code::InvalidUser), "The required \"userId\" or \"username\" param provided does not match any users".into()),
            UsernameAndUsernames => (Rejected(Code::InvalidParams), "Give either \"username\" or \"usernames\", not both.".into()),
            UsernameChangeNotAllowed => (Rejected(Code::ActionNotAllowed), "Edit username is not allowed".into()),
            UsersListQueryUnsupported => (Rejected(Code::InvalidQuery), "The \"query\" parameter is not supported by users.list; use \"email\" or users.info".into()),
            WebsocketExpected => (Rejected(Code::WebsocketExpected), "This endpoint speaks DDP over a websocket: send a websocket upgrade request".into()),
            YouAreLastOwner => (Rejected(Code::YouAreLastOwner), "You are the last owner. Please set new owner before leaving the room.".into()),

            BodyJsonInvalid { detail } => (ip, format!("Invalid JSON in request body: {detail}").into()),
            BodyInvalid { detail } => (ip, format!("Invalid request body: {detail}").into()),
            FormTooDeep { key, depth } => (
                ip,
                format!("Invalid request body: the form key \"{}\" is nested more than {depth} levels deep", echo(key))
                    .into(),
            ),
            BodyUnreadable { detail } => (ip, format!("Invalid request body: it could not be read ({detail})").into()),
            QueryParamMissing { name } => (ip, format!("The required \"{name}\" query param is missing.").into()),
            ParamMissing { name } => (ip, format!("The required \"{name}\" param is missing.").into()),
            BodyParamNotBoolean { name } => (ip, format!("The \"{name}\" body param must be a boolean.").into()),
            SchemaPropertyMissing { property } => {
                (Rejected(Code::SchemaInvalidParams), format!("must have required property '{property}'").into())
            }
            SchemaNotString => (Rejected(Code::SchemaInvalidParams), "must be string".into()),
            SchemaNotBoolean => (Rejected(Code::SchemaInvalidParams), "must be boolean".into()),
            MultipartInvalid { detail } => (ip, format!("Invalid multipart body: {detail}").into()),
            UploadTooManyFields { max } => (ip, format!("An upload form has at most {max} fields.").into()),
            ParamNotOneRoom { name } => (ip, format!("The \"{name}\" param must name exactly one room.").into()),
            BodyParamRequired { name } => (Legacy, format!("The bodyParam \"{name}\" is required").into()),
            BodyParameterRequired { name } => (Legacy, format!("Body parameter \"{name}\" is required.").into()),
            QuerySelectorInvalid { detail } => (ip, detail.clone().into()),
            DiscussionNotAllowed => {
                (Rejected(Code::ActionNotAllowed), "You are not allowed to create a discussion".into())
            }
            DiscussionStartNotAllowed => {
                (Rejected(Code::ActionNotAllowed), "You do not have permission to start a discussion".into())
            }
            DiscussionTooManyUsers { max } => {
                (ip, format!("A discussion invites at most {max} users at once").into())
            }
            PreferenceTooLarge { key } => (ip, format!("The preference {key} is too large").into()),
            RoleUnknown { role } => (Rejected(Code::InvalidRole), format!("Invalid role {role}").into()),
            MessageContentTooLarge { max } => (
                Rejected(Code::MessageSizeExceeded),
                format!(
                    "Message content exceeds {max} bytes (alias, emoji, avatar, attachments, blocks and customFields together)"
                )
                .into(),
            ),
            MessageNotFoundById { id } => (
                Rejected(Code::MessageNotFound),
                format!("No message found with the id of \"{}\".", echo(id)).into(),
            ),
            MessageNotFoundLegacy { id } => (Legacy, format!("No message found with the id of \"{id}\".").into()),
            MessageFieldInvalid { field, expected } => {
                (ip, format!("The \"{field}\" property on the message object must be {expected}.").into())
            }
            ForceDeleteRequired => (
                Legacy,
                "Unauthorized. You must have the permission \"force-delete-message\" to delete other's message as them."
                    .into(),
            ),
            AvatarChangeNotAllowed => (Rejected(Code::NotAllowed), "Change avatar is not allowed".into()),
            ImageIncomplete { detail } => (ip, format!("The image did not arrive whole: {detail}").into()),
            FileIncomplete { detail } => (ip, format!("The file did not arrive whole: {detail}").into()),
            UploadFieldNotString { key } => (ip, format!("The \"{key}\" field must be a string.").into()),
            QueryDateInvalid { name } => (ip, format!("The \"{name}\" query parameter must be a valid date.").into()),
            QueryBoolInvalid { name } => {
                (ip, format!("The \"{name}\" query parameter must be true or false.").into())
            }
            QueryIntInvalid { name } => {
                (ip, format!("The \"{name}\" query parameter must be a non-negative integer.").into())
            }
            QueryMillisInvalid { name } => (
                ip,
                format!("The \"{name}\" query param must be a number of milliseconds since the epoch.").into(),
            ),
            BodyDateInvalid { name } => (ip, format!("The \"{name}\" body param must be a valid date.").into()),
            RoomNotFoundIn { family } => {
                let word = match family {
                    RoomType::Channel => "channel",
                    RoomType::Group => "group",
                    RoomType::Direct => "room",
                };
                (
                    Rejected(Code::RoomNotFound),
                    format!("The required \"roomId\" or \"roomName\" param provided does not match any {word}")
                        .into(),
                )
            }
            RoomSelectorMissing { family } => {
                let code = match family {
                    Some(RoomType::Group) => Code::RoomParamNotProvided,
                    _ => Code::RoomidParamNotProvided,
                };
                (Rejected(code), "The parameter \"roomId\" or \"roomName\" is required".into())
            }
            RoomNameInvalid { shown } => {
                (Rejected(Code::InvalidRoomName), format!("{shown} is not a valid room name.").into())
            }
            ChannelNameTaken { name } => {
                (Rejected(Code::DuplicateChannelName), format!("A channel with name '{name}' exists").into())
            }
            UsernamesUnknown { names } => {
                (Rejected(Code::InvalidUsername), format!("Invalid username: {}", names.join(", ")).into())
            }
            DirectMessageTooManyUsers { max } => (
                Rejected(Code::DirectMessageMaxUserExceeded),
                format!("You cannot add more than {max} users, including yourself to a direct message").into(),
            ),
            GroupDoesNotExist => (Legacy, "Group does not exists".into()),
            ChannelDoesNotExist => (Legacy, "Channel does not exists".into()),
            ResyncRequired { param, what } => (
                Rejected(Code::ResyncRequired),
                format!(
                    "The \"{param}\" date is older than the deletion history this server keeps; resync the {what} from scratch."
                )
                .into(),
            ),
            SyncCursorBoth => (ip, "Only one of the \"next\" and \"previous\" query params may be given.".into()),
            SyncLastUpdateWithCursor => (
                ip,
                "The \"lastUpdate\" query param cannot be combined with \"next\", \"previous\" or \"type\"."
                    .into(),
            ),
            SyncCursorNeedsType => (
                ip,
                "The \"type\" query param (\"UPDATED\" or \"DELETED\") is required with \"next\" or \"previous\"."
                    .into(),
            ),
            SyncCursorTypeInvalid => (ip, "The \"type\" query param must be \"UPDATED\" or \"DELETED\".".into()),
            UsernameInvalid { username } => (
                Rejected(Code::InvalidUsername),
                format!("{username} is not a valid username, use only letters, numbers, dots, hyphens and underscores")
                    .into(),
            ),
            UsernameBlocked { username } => {
                (Rejected(Code::BlockedUsername), format!("{username} is blocked and can't be used!").into())
            }
            EmailInvalid { email } => (Rejected(Code::InvalidEmail), format!("Invalid email {email}").into()),
            UsernameTaken { username } => {
                (Rejected(Code::FieldUnavailable), format!("Username is already in use: {username}").into())
            }
            EmailTaken { email } => (Rejected(Code::FieldUnavailable), format!("Email already exists: {email}").into()),
            SortInvalid { raw, reason } => (
                Rejected(Code::InvalidSort),
                format!("Invalid sort parameter provided: \"{}\" ({reason})", echo(raw)).into(),
            ),
            UserSortInvalid { raw, reason } => (
                Rejected(Code::InvalidSort),
                format!("Invalid sort parameter provided: \"{}\" ({reason})", raw.chars().take(64).collect::<String>())
                    .into(),
            ),
            SettingValueInvalid { reason } => (ip, reason.clone().into()),
            FieldsInvalid { raw, reason } => (
                Rejected(Code::InvalidFields),
                format!("Invalid fields parameter provided: \"{}\" ({reason})", echo(raw)).into(),
            ),
            QueryInvalid { raw, reason } => (
                Rejected(Code::InvalidQuery),
                format!("Invalid query parameter provided: \"{}\" ({reason})", echo(raw)).into(),
            ),
            AccessPermissionsNotAllowedRemove => {
                (Rejected(Code::NotAllowed), "Accessing permissions is not allowed".into())
            }
            CleanTooManyUsers { max } => (ip, format!("\"users\" names more than {max} users.").into()),
            NotInChannel { name, open } => (
                Legacy,
                if *open {
                    format!("The user/callee is not in the channel \"{name}\".")
                } else {
                    format!("The user/callee is not in the channel \"{name}.")
                }
                .into(),
            ),
            DirectAlreadyClosed { rid } => {
                (Legacy, format!("The direct message room, {rid}, is already closed to the sender").into())
            }
            GroupAlreadyInState { name, open } => (
                Legacy,
                format!("The private group, {name}, is already {} to the sender", open_word(*open)).into(),
            ),
            ChannelAlreadyInState { name, open } => {
                (Legacy, format!("The channel, {name}, is already {} to the sender", open_word(*open)).into())
            }
            TextFilterTooLong { max } => {
                (ip, format!("The \"text\" query parameter must be at most {max} bytes.").into())
            }
            NameFilterTooLong { max } => {
                (ip, format!("The \"filter\" query param is longer than {max} characters.").into())
            }
            RoomTypeUnknown { given } => (
                ip,
                format!(
                    "Unknown room type \"{}\": expected c, p, d, l, discussions or teams.",
                    given.chars().take(32).collect::<String>()
                )
                .into(),
            ),
            EditRoomNotAllowed => (Rejected(Code::ActionNotAllowed), "Editing room is not allowed".into()),
            ViewRoomAdministrationNotAllowed => {
                (Rejected(Code::ActionNotAllowed), "Viewing room administration is not allowed".into())
            }
            EditReadOnlyNotAllowed => {
                (Rejected(Code::ActionNotAllowed), "Editing readOnly room is not allowed".into())
            }
            GroupToChannelNotAllowed => (
                Rejected(Code::ActionNotAllowed),
                "Changing a private group to a public channel is not allowed".into(),
            ),
            ChannelToGroupNotAllowed => (
                Rejected(Code::ActionNotAllowed),
                "Changing a public channel to a private room is not allowed".into(),
            ),
            SameReadOnly { noun } => (
                Legacy,
                format!("The {noun} read only setting is the same as what it would be changed to.").into(),
            ),
            SameName { noun } => {
                (Legacy, format!("The {noun} name is the same as what it would be renamed to.").into())
            }
            SameType { noun } => {
                (Legacy, format!("The {noun} type is the same as what it would be changed to.").into())
            }
            AlreadyArchived { noun, name } => (Legacy, format!("The {noun}, {name}, is already archived").into()),
            NotArchived { noun, name } => (Legacy, format!("The {noun}, {name}, is not archived").into()),
            DefaultRequired => {
                (Failure(Code::ChannelsSetdefaultIsRequired), "The bodyParam \"default\" is required".into())
            }
            SameDefault => (
                Failure(Code::ChannelsSetdefaultMissingDefaultParam),
                "The channel default setting is the same as what it would be changed to.".into(),
            ),
            RoleAlreadyHeld { role } => {
                let code = match role {
                    RoomRoleName::Owner => Code::UserAlreadyOwner,
                    RoomRoleName::Moderator => Code::UserAlreadyModerator,
                    RoomRoleName::Leader => Code::UserAlreadyLeader,
                };
                (Rejected(code), format!("User is already {}", role.with_article()).into())
            }
            RoleNotHeld { role } => {
                let code = match role {
                    RoomRoleName::Owner => Code::UserNotOwner,
                    RoomRoleName::Moderator => Code::UserNotModerator,
                    RoomRoleName::Leader => Code::UserNotLeader,
                };
                (Rejected(code), format!("User is not {}", role.with_article()).into())
            }
            SettingNotFound { id } => (Rejected(Code::SettingNotFound), format!("Setting {id} not found").into()),
            MatchFailed { detail } => (Legacy, format!("Match error: {detail}").into()),
            SignalRefused { detail } => (ip, detail.clone().into()),
        }
    }
}

impl RoomRoleName {
    fn with_article(self) -> &'static str {
        match self {
            RoomRoleName::Owner => "an owner",
            RoomRoleName::Moderator => "a moderator",
            RoomRoleName::Leader => "a leader",
        }
    }
}

fn open_word(open: bool) -> &'static str {
    if open {
        "open"
    } else {
        "closed"
    }
}

impl From<Reject> for Error {
    fn from(reject: Reject) -> Error {
        let (wire, words) = reject.parts();
        match wire {
            Wire::Rejected(code) => Error::Rejected { reason: words.into_owned(), code, details: None },
            Wire::Failure(code) => Error::Failure { message: words.into_owned(), code },
            Wire::Legacy => Error::Legacy(words.into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workspace's sources but the catalogues themselves and unit-test
    /// files.
    fn other_sources() -> Vec<(std::path::PathBuf, String)> {
        crate::error::workspace_sources()
            .into_iter()
            .filter(|(path, _)| {
                !path.ends_with("domain/src/reject.rs")
                    && !path.ends_with("domain/src/error.rs")
                    && !path.ends_with("tests.rs")
            })
            .collect()
    }

    /// The variants, read from this file's declaration.
    fn variant_names() -> Vec<String> {
        let own = include_str!("reject.rs");
        let from = own.find("pub enum Reject {").expect("the enum");
        let body = &own[from..];
        let body = &body[..body.find("\n}\n").expect("the enum's end")];
        body.lines()
            .skip(1)
            .map(str::trim)
            .filter(|line| !line.starts_with("//") && !line.is_empty())
            .filter_map(|line| {
                let name: String = line.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                (!name.is_empty() && name.starts_with(|c: char| c.is_ascii_uppercase())).then_some(name)
            })
            .collect()
    }

    /// Like the code list's check (and Lemmy's): a refusal nobody sends is
    /// dead weight. Every variant is named somewhere else in the workspace.
    #[test]
    fn every_refusal_is_sent_somewhere() {
        // error.rs counts: its helpers (`missing_param`, ...) send some.
        let mut sources: String = other_sources().into_iter().map(|(_, text)| text).collect();
        sources.push_str(include_str!("error.rs"));
        let names = variant_names();
        assert!(names.len() > 200, "the enum was not read: {names:?}");
        let unused: Vec<&String> =
            names.iter().filter(|name| !sources.contains(&format!("Reject::{name}"))).collect();
        assert!(unused.is_empty(), "refusals never sent: {unused:?}");
    }

    /// Words live here: no other source builds an error from text.
    #[test]
    fn no_error_words_outside_the_catalogue() {
        let forbidden =
            ["Error::Legacy(format!", "Error::Legacy(\"", "message: \"", "Error::Rejected { reason:"];
        let mut offenders = Vec::new();
        for (path, text) in other_sources() {
            let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            for pattern in forbidden {
                if flat.contains(pattern) && (pattern != "message: \"" || flat.contains("Error::Failure")) {
                    offenders.push(format!("{}: {pattern}", path.display()));
                }
            }
        }
        assert!(offenders.is_empty(), "errors built from words outside reject.rs: {offenders:#?}");
    }

    #[test]
    fn each_envelope_comes_out_as_its_error() {
        assert_eq!(
            Error::from(Reject::InvalidUser),
            Error::Rejected { reason: "Invalid user".into(), code: Code::InvalidUser, details: None }
        );
        assert_eq!(Error::from(Reject::RoomIsArchived), Error::Legacy("room_is_archived".into()));
        assert_eq!(
            Error::from(Reject::DefaultRequired),
            Error::Failure {
                message: "The bodyParam \"default\" is required".into(),
                code: Code::ChannelsSetdefaultIsRequired
            }
        );
        // Values a client sent are cut when repeated.
        let long = "x".repeat(1000);
        let Error::Rejected { reason, .. } = Error::from(Reject::MessageNotFoundById { id: long }) else {
            panic!("a rejection")
        };
        assert!(reason.chars().count() < 260, "{reason}");
        // Codes that depend on the family or the role.
        let code = |r: Reject| Error::from(r).code();
        assert_eq!(
            code(Reject::RoomSelectorMissing { family: Some(RoomType::Group) }),
            Some(Code::RoomParamNotProvided)
        );
        assert_eq!(code(Reject::RoomSelectorMissing { family: None }), Some(Code::RoomidParamNotProvided));
        assert_eq!(code(Reject::RoleNotHeld { role: RoomRoleName::Leader }), Some(Code::UserNotLeader));
        assert_eq!(
            Error::from(Reject::RoleAlreadyHeld { role: RoomRoleName::Owner }).to_string(),
            "User is already an owner [error-user-already-owner]"
        );
    }
}
