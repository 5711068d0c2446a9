// Package taxii is the node's TAXII 2.1 interface: the server that the user
// API and the federation API mount (discovery, one API root, collections,
// objects, manifests, versions, status), and the client that delivery
// workers and tools use to talk to other nodes and to any TAXII 2.1 server.
//
// It follows OASIS TAXII 2.1 (shared/reference/taxii-v2.1.md). Objects enter
// only through stix.Parse and are kept by a store.Store; the server holds no
// state of its own beyond short-lived authentication caches, so several
// replicas can serve one PostgreSQL database.
//
// # Choices where the specification leaves room
//
//   - Paths end in "/". A request without the final slash is served as if it
//     had it, not redirected: a redirect turns a POST into a GET in many
//     clients.
//   - Every endpoint, discovery included, needs authentication: HTTP Basic
//     (argon2id, with the cache and limits described on
//     user.Authenticator, which a node shares between TAXII, its API and
//     its console) or a bearer token ("Authorization: Bearer" or "Token",
//     the scheme OASIS's Python client sends). A 401 carries a Basic and a Bearer challenge.
//   - Accept: application/taxii+json;version=2.1, application/taxii+json
//     (latest, which is 2.1), application/* and */* are served, with quality
//     values (the most specific matching range decides; q=0 refuses). A
//     request without Accept is served (RFC 9110). Anything else is 406.
//   - Content-Type of a POST: application/taxii+json with version=2.1 or no
//     version; anything else, including application/stix+json, is 415.
//   - Permissions (section 1.6.9 lets a server omit what a client may not
//     see): the collections list shows only collections the user can read or
//     write. A user with no right on a collection gets 404 everywhere in it,
//     so its existence does not leak; one with the other right gets 403.
//     DELETE needs both read and write, as section 5.7's table requires.
//     A status resource is visible to the user who made the request and to
//     admins; others get 404.
//   - Filters: a malformed parameter is 400 naming it. A match field may be
//     repeated or comma-separated (both mean "any of"); added_after, limit
//     and next at most once. match[version] refuses repeats (two spellings of
//     one instant count as one) and "all" with anything else. A match field
//     TAXII defines but the endpoint does not take (match[type] on one
//     object, match[version] on versions) is 400; fields TAXII does not
//     define are ignored. A limit above Config.MaxLimit is lowered to it.
//     An empty next= is as if absent; a cursor the store cannot decode is 400.
//   - Paging: the store's opaque cursor is the next property; "more" is
//     true exactly when next is present. The manifest and versions resources
//     carry next too (their property tables omit it although the endpoints
//     take a next parameter; OASIS's medallion does the same), because
//     paging by added_after cannot get past thousands of objects that share
//     one date_added.
//   - X-TAXII-Date-Added-First/-Last are sent only when the response holds at
//     least one record: their value must be a timestamp, and an empty page
//     has no first or last record. date_added has microsecond precision.
//   - Empty results: the envelope, manifest and versions are then "{}"
//     (properties omitted, as the specification says for manifest and
//     versions). Get an Object and Get Object Versions answer 404 when no
//     version matches (section 5.7: a deleted object must be 404), except on
//     a page reached through next, which may legitimately be empty.
//   - Add Objects: the body must be one JSON object with a non-empty objects
//     array, else 400 (an envelope holds "one or more" objects, and a status
//     with total_count 0 would mean "not yet processed"). Each object is
//     validated on its own; the valid ones are stored in one batch; the
//     request is complete before the answer, so the 202 status is
//     "complete" and needs no polling. An exact duplicate is a success with
//     the message "already present"; a conflict (same version, other
//     content; or a version after a revocation) and an invalid object are
//     failures with the reason. A failure whose id could not be read has id
//     "". Bodies over max_content_length are 413, on Content-Length before
//     reading and by http.MaxBytesReader while reading.
//   - DELETE answers 200 with an empty body (the payload is "n/a") and, with
//     no match[version], removes every version.
//   - Discovery's default and api_roots are absolute https URLs built from
//     the request's Host: TAXII runs over HTTPS only, even when TLS ends at
//     a proxy in front of the node.
//   - Errors are TAXII error messages whose error_code is the error's Kind
//     (invalid-input, forbidden, not-found, conflict, unavailable, …), so
//     the kind survives the wire; http_status is a string, as the property
//     table says. Internal errors carry an error_id that names the log line
//     with the detail; the client gets a generic description.
package taxii
