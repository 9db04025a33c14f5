#include <map>
#include <mlo/git/tag_refs_files.hpp>
#include <mlo/registry/registry_index.hpp>
#include <mlo/registry/tag_name.hpp>
#include <mlo/util/sqlite_db.hpp>
#include <optional>
#include <sqlite3.h>

namespace mlo::registry {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_what = "registry index";

constexpr const char* k_schema = R"SQL(
PRAGMA journal_mode=WAL;
PRAGMA synchronous=NORMAL;
CREATE TABLE IF NOT EXISTS registry_tags (
  name TEXT PRIMARY KEY, oid TEXT NOT NULL, target TEXT NOT NULL, annotated INTEGER NOT NULL,
  tagger_name TEXT NOT NULL, tagger_email TEXT NOT NULL, time INTEGER NOT NULL, offset INTEGER NOT NULL,
  message TEXT NOT NULL) WITHOUT ROWID;
)SQL";

// Closes the database on every path out.
struct Database {
    sqlite3* db = nullptr;
    ~Database() { sqlite3_close(db); }
};

Result<std::vector<git::TagRef>> list_tag_refs(const fs::path& project_root,
                                               std::optional<git::Repository>& repo) {
    auto common = git::find_common_dir(project_root);
    if (!common)
        return fail(std::move(common).error());
    if (*common)
        return git::read_tag_refs_files(**common);
    // Not found by the plain-file walk (an unusual layout): let libgit2 decide.
    auto opened = git::Repository::discover(project_root);
    if (!opened)
        return fail(std::move(opened).error().context("the model registry lives in git tags"));
    repo.emplace(std::move(*opened));
    return repo->tag_refs();
}

Result<std::map<std::string, git::TagInfo>> read_index(sqlite3* db) {
    std::map<std::string, git::TagInfo> rows;
    util::Statement select(db,
                           "SELECT name, oid, target, annotated, tagger_name, tagger_email, time, offset, "
                           "message FROM registry_tags");
    if (!select)
        return fail(util::sqlite_error(db, k_what));
    while (select.step_row()) {
        git::TagInfo tag;
        tag.name = select.text(0);
        tag.tag_oid = select.text(1);
        tag.target_oid = select.text(2);
        tag.annotated = select.integer(3) != 0;
        tag.tagger_name = select.text(4);
        tag.tagger_email = select.text(5);
        tag.time = select.integer(6);
        tag.offset_minutes = static_cast<int>(select.integer(7));
        tag.message = select.text(8);
        std::string name = tag.name;
        rows.emplace(std::move(name), std::move(tag));
    }
    return rows;
}

Status write_index(sqlite3* db, const std::vector<git::TagInfo>& added,
                   const std::vector<std::string>& removed) {
    MLO_TRY(util::sqlite_exec(db, "BEGIN IMMEDIATE", k_what));
    auto rollback = [&](Error error) {
        (void)util::sqlite_exec(db, "ROLLBACK", k_what);
        return fail(std::move(error));
    };
    util::Statement remove(db, "DELETE FROM registry_tags WHERE name = ?1");
    util::Statement insert(
        db, "INSERT OR REPLACE INTO registry_tags VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!remove || !insert)
        return rollback(util::sqlite_error(db, k_what));
    for (const auto& name : removed) {
        remove.bind(1, name);
        if (remove.step() != SQLITE_DONE)
            return rollback(util::sqlite_error(db, k_what));
        remove.reset();
    }
    for (const auto& tag : added) {
        insert.bind(1, tag.name);
        insert.bind(2, tag.tag_oid);
        insert.bind(3, tag.target_oid);
        insert.bind(4, static_cast<int64_t>(tag.annotated ? 1 : 0));
        insert.bind(5, tag.tagger_name);
        insert.bind(6, tag.tagger_email);
        insert.bind(7, tag.time);
        insert.bind(8, static_cast<int64_t>(tag.offset_minutes));
        insert.bind(9, tag.message);
        if (insert.step() != SQLITE_DONE)
            return rollback(util::sqlite_error(db, k_what));
        insert.reset();
    }
    return util::sqlite_exec(db, "COMMIT", k_what);
}

} // namespace

Result<std::vector<git::TagInfo>> load_registry_tags(const fs::path& project_root, const fs::path& mlo_dir) {
    std::optional<git::Repository> repo;
    auto refs = list_tag_refs(project_root, repo);
    if (!refs)
        return fail(std::move(refs).error());

    Database database;
    auto db = util::open_derived_database(mlo_dir / "index.db", k_schema, "the " + std::string(k_what));
    if (!db)
        return fail(std::move(db).error());
    database.db = *db;
    auto rows = read_index(database.db);
    if (!rows)
        return fail(std::move(rows).error());

    std::vector<git::TagInfo> tags;
    std::vector<git::TagInfo> added;
    for (const auto& ref : *refs) {
        if (!RegistryTag::parse(ref.name))
            continue;
        auto row = rows->find(ref.name);
        if (row != rows->end() && row->second.tag_oid == ref.oid) {
            tags.push_back(std::move(row->second));
            rows->erase(row);
            continue;
        }
        if (row != rows->end())
            rows->erase(row);
        if (!repo) {
            auto opened = git::Repository::discover(project_root);
            if (!opened)
                return fail(std::move(opened).error());
            repo.emplace(std::move(*opened));
        }
        auto tag = repo->read_tag(ref);
        if (!tag)
            return fail(std::move(tag).error().context("reading tag " + ref.name));
        added.push_back(*tag);
        tags.push_back(std::move(*tag));
    }
    // What is left in `rows` is no longer a tag (deleted, or pruned by a fetch).
    std::vector<std::string> removed;
    for (const auto& [name, row] : *rows)
        removed.push_back(name);
    if (!added.empty() || !removed.empty())
        MLO_TRY(write_index(database.db, added, removed));
    return tags;
}

} // namespace mlo::registry
