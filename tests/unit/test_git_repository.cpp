// Fixture commits are made with the git command-line tool rather than libgit2, so the tests check
// Repository against what real git writes, not against the library it is built on.

#include "temp_dir.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <mlo/git/repository.hpp>
#include <string>

namespace fs = std::filesystem;
using mlo::ErrorCode;
using mlo::git::Repository;

namespace {

// Runs `git <args>` in `dir` with an identity and settings that do not depend on the machine's config.
void run_git(const fs::path& dir, const std::string& args) {
    std::string command = "GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null git -C '" + dir.string() +
                          "' -c user.name=t -c user.email=t@t -c init.defaultBranch=main"
                          " -c commit.gpgsign=false -c tag.gpgsign=false -c core.hooksPath=/dev/null " +
                          args + " >/dev/null 2>&1";
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
}

void write_file(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    REQUIRE(out.good());
}

// Writes `path` (relative to the work tree) and commits it; returns the new HEAD commit.
std::string commit_file(const Repository& repo, const std::string& path, const std::string& content) {
    write_file(repo.work_tree() / path, content);
    run_git(repo.work_tree(), "add -- '" + path + "'");
    run_git(repo.work_tree(), "commit -q -m 'change " + path + "'");
    auto head = repo.head();
    REQUIRE(head);
    return head->commit;
}

Repository make_repo(const mlo::test::TempDir& dir) {
    auto repo = Repository::init(dir.path());
    REQUIRE(repo);
    return std::move(*repo);
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

bool is_hex40(const std::string& text) {
    return text.size() == 40 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

} // namespace

TEST_CASE("discover outside a repository is a precondition error", "[git]") {
    mlo::test::TempDir dir;
    auto repo = Repository::discover(dir.path());
    REQUIRE_FALSE(repo);
    CHECK(repo.error().code == ErrorCode::precondition);
    CHECK(repo.error().message == "not a git repository: " + dir.path().string());
}

TEST_CASE("discover finds the repository from a subdirectory", "[git]") {
    mlo::test::TempDir dir;
    make_repo(dir);
    fs::create_directories(dir / "a/b");
    auto repo = Repository::discover(dir / "a/b");
    REQUIRE(repo);
    CHECK(repo->work_tree() == fs::canonical(dir.path()));
    CHECK(repo->work_tree().filename() == dir.path().filename());
}

TEST_CASE("discover refuses a bare repository", "[git]") {
    mlo::test::TempDir dir;
    run_git(dir.path(), "init -q --bare bare.git");
    auto repo = Repository::discover(dir / "bare.git");
    REQUIRE_FALSE(repo);
    CHECK(repo.error().code == ErrorCode::precondition);
    CHECK_THAT(repo.error().message, Catch::Contains("bare"));
}

TEST_CASE("init creates a repository whose HEAD is unborn on main", "[git]") {
    mlo::test::TempDir dir;
    auto repo = Repository::init(dir / "new/project");
    REQUIRE(repo);
    CHECK(fs::is_directory(dir / "new/project/.git"));
    auto head = repo->head();
    REQUIRE(head);
    CHECK(head->unborn);
    CHECK(head->branch == "main");
    CHECK(head->commit.empty());

    auto dirty = repo->is_dirty();
    REQUIRE(dirty);
    CHECK_FALSE(*dirty);
    auto commits = repo->all_reachable_commits();
    REQUIRE(commits);
    CHECK(commits->empty());

    auto resolved = repo->resolve_commit("HEAD");
    REQUIRE_FALSE(resolved);
    CHECK(resolved.error().code == ErrorCode::input);
    CHECK(resolved.error().hint == "the repository has no commits yet");

    // The repository is visible to discover, and git agrees on the branch.
    REQUIRE(Repository::discover(dir / "new/project"));
    write_file(dir / "new/project/f.txt", "x");
    run_git(dir / "new/project", "add f.txt");
    run_git(dir / "new/project", "commit -q -m first");
    run_git(dir / "new/project", "rev-parse --verify refs/heads/main");
}

TEST_CASE("head reports the commit and branch, and detached HEAD", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir);
    std::string first = commit_file(repo, "a.txt", "one\n");
    CHECK(is_hex40(first));

    auto head = repo.head();
    REQUIRE(head);
    CHECK_FALSE(head->unborn);
    CHECK(head->branch == "main");
    CHECK(head->commit == first);

    run_git(dir.path(), "checkout -q -b feature/x");
    head = repo.head();
    REQUIRE(head);
    CHECK(head->branch == "feature/x");

    run_git(dir.path(), "checkout -q --detach");
    head = repo.head();
    REQUIRE(head);
    CHECK_FALSE(head->unborn);
    CHECK(head->branch.empty());
    CHECK(head->commit == first);
}

TEST_CASE("resolve_commit handles HEAD, ancestry, tags and unknown revisions", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir);
    std::string first = commit_file(repo, "a.txt", "one\n");
    std::string second = commit_file(repo, "a.txt", "two\n");
    REQUIRE(first != second);
    run_git(dir.path(), "tag light " + first);
    run_git(dir.path(), "tag -a annotated -m release " + first);
    run_git(dir.path(), "tag blobtag HEAD:a.txt");

    CHECK(repo.resolve_commit("HEAD").value() == second);
    CHECK(repo.resolve_commit("main").value() == second);
    CHECK(repo.resolve_commit("HEAD~1").value() == first);
    CHECK(repo.resolve_commit("light").value() == first);
    CHECK(repo.resolve_commit("annotated").value() == first);
    CHECK(repo.resolve_commit(second).value() == second);
    CHECK(repo.resolve_commit(second.substr(0, 10)).value() == second);

    SECTION("unknown revision") {
        auto result = repo.resolve_commit("no-such-branch");
        REQUIRE_FALSE(result);
        CHECK(result.error().code == ErrorCode::input);
        CHECK(result.error().message == "unknown revision 'no-such-branch'");
        CHECK(result.error().hint.empty());
    }
    SECTION("beyond the root commit") {
        auto result = repo.resolve_commit("HEAD~5");
        REQUIRE_FALSE(result);
        CHECK(result.error().code == ErrorCode::input);
    }
    SECTION("malformed revision") {
        auto result = repo.resolve_commit("HEAD^{nonsense");
        REQUIRE_FALSE(result);
        CHECK(result.error().code == ErrorCode::input);
    }
    SECTION("a tag naming a blob is not a commit") {
        auto result = repo.resolve_commit("blobtag");
        REQUIRE_FALSE(result);
        CHECK(result.error().code == ErrorCode::input);
        CHECK_THAT(result.error().message, Catch::Contains("not a commit"));
    }
}

TEST_CASE("read_file_at reads files of a given commit", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir);
    std::string first = commit_file(repo, "params.yaml", "lr: 0.1\n");
    commit_file(repo, "params.yaml", "lr: 0.2\n");
    commit_file(repo, "sub/dir/data.bin", std::string("a\0b\r\n", 5));

    CHECK(repo.read_file_at("HEAD", "params.yaml").value() == std::optional<std::string>("lr: 0.2\n"));
    CHECK(repo.read_file_at(first, "params.yaml").value() == std::optional<std::string>("lr: 0.1\n"));
    CHECK(repo.read_file_at("HEAD", "sub/dir/data.bin").value() ==
          std::optional<std::string>(std::string("a\0b\r\n", 5)));

    // Absent in this commit, absent everywhere, or a directory: no file.
    CHECK(repo.read_file_at(first, "sub/dir/data.bin").value() == std::nullopt);
    CHECK(repo.read_file_at("HEAD", "missing.txt").value() == std::nullopt);
    CHECK(repo.read_file_at("HEAD", "sub/dir").value() == std::nullopt);
    CHECK(repo.read_file_at("HEAD", "params.yaml/x").value() == std::nullopt);

    // The committed content, not the work tree's.
    write_file(dir / "params.yaml", "edited\n");
    CHECK(repo.read_file_at("HEAD", "params.yaml").value() == std::optional<std::string>("lr: 0.2\n"));

    auto unknown = repo.read_file_at("nope", "params.yaml");
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == ErrorCode::input);
    CHECK(unknown.error().message == "unknown revision 'nope'");
}

TEST_CASE("files_at returns the files whose path is wanted", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir);
    std::string first = commit_file(repo, "data.mlo", "top\n");
    write_file(dir / "models/model.mlo", "model\n");
    write_file(dir / "models/model.bin", "binary\n");
    write_file(dir / "notes.mlo.bak", "backup\n");
    write_file(dir / "deep/a/b/c.mlo", "deep\n");
    run_git(dir.path(), "add -A");
    run_git(dir.path(), "commit -q -m more");

    auto ends_with_mlo = [](const std::string& path) {
        return path.size() >= 4 && path.compare(path.size() - 4, 4, ".mlo") == 0;
    };
    auto files = repo.files_at("HEAD", ends_with_mlo);
    REQUIRE(files);
    std::vector<std::string> paths;
    for (const auto& file : *files)
        paths.push_back(file.path);
    std::sort(paths.begin(), paths.end());
    CHECK(paths == std::vector<std::string>{"data.mlo", "deep/a/b/c.mlo", "models/model.mlo"});
    for (const auto& file : *files) {
        if (file.path == "models/model.mlo")
            CHECK(file.content == "model\n");
        if (file.path == "deep/a/b/c.mlo")
            CHECK(file.content == "deep\n");
    }

    auto old_files = repo.files_at(first, ends_with_mlo);
    REQUIRE(old_files);
    REQUIRE(old_files->size() == 1);
    CHECK(old_files->front().path == "data.mlo");
    CHECK(old_files->front().content == "top\n");

    auto none = repo.files_at("HEAD", [](const std::string&) { return false; });
    REQUIRE(none);
    CHECK(none->empty());

    auto unknown = repo.files_at("nope", ends_with_mlo);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == ErrorCode::input);

    // An exception from the predicate becomes an error instead of crossing libgit2's C frames.
    auto thrown = repo.files_at("HEAD", [](const std::string&) -> bool { throw std::runtime_error("boom"); });
    REQUIRE_FALSE(thrown);
    CHECK_THAT(thrown.error().message, Catch::Contains("boom"));
}

TEST_CASE("all_reachable_commits covers branches, tags and HEAD but not reset-away commits", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir);
    std::string c1 = commit_file(repo, "a.txt", "1\n");
    std::string c2 = commit_file(repo, "a.txt", "2\n");

    // A commit only on a second branch.
    run_git(dir.path(), "checkout -q -b side");
    std::string side = commit_file(repo, "b.txt", "side\n");

    // A commit reachable only from an annotated tag, and one only from a lightweight tag.
    run_git(dir.path(), "checkout -q --detach main");
    std::string tagged = commit_file(repo, "c.txt", "tagged\n");
    run_git(dir.path(), "tag -a v1 -m release");
    run_git(dir.path(), "checkout -q --detach main");
    std::string light = commit_file(repo, "c.txt", "light\n");
    run_git(dir.path(), "tag lightweight");

    // Tags on a blob and a tree protect no commit and must not break the walk.
    run_git(dir.path(), "tag blobtag HEAD:c.txt");
    run_git(dir.path(), "tag -a treetag -m tree HEAD^{tree}");

    // A commit reset away from main is unreachable.
    run_git(dir.path(), "checkout -q main");
    std::string gone = commit_file(repo, "a.txt", "gone\n");
    run_git(dir.path(), "reset -q --hard HEAD~1");

    auto commits = repo.all_reachable_commits();
    REQUIRE(commits);
    CHECK(contains(*commits, c1));
    CHECK(contains(*commits, c2));
    CHECK(contains(*commits, side));
    CHECK(contains(*commits, tagged));
    CHECK(contains(*commits, light));
    CHECK_FALSE(contains(*commits, gone));
    CHECK(commits->size() == 5);
    auto sorted = *commits;
    std::sort(sorted.begin(), sorted.end());
    CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());

    SECTION("a detached HEAD's commit is reachable") {
        run_git(dir.path(), "checkout -q --detach");
        std::string detached = commit_file(repo, "d.txt", "detached\n");
        auto with_head = repo.all_reachable_commits();
        REQUIRE(with_head);
        CHECK(contains(*with_head, detached));
        CHECK(with_head->size() == 6);
    }
    SECTION("a dangling symbolic reference is skipped") {
        run_git(dir.path(), "symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/deleted");
        auto with_dangling = repo.all_reachable_commits();
        REQUIRE(with_dangling);
        CHECK(with_dangling->size() == 5);
    }
}

TEST_CASE("is_dirty reflects tracked changes only", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir);
    commit_file(repo, "tracked.txt", "original\n");
    commit_file(repo, "sub/other.txt", "other\n");

    auto dirty = [&] {
        auto result = repo.is_dirty();
        REQUIRE(result);
        return *result;
    };
    CHECK_FALSE(dirty());

    SECTION("untracked and ignored files are not dirty") {
        write_file(dir / "untracked.txt", "new\n");
        write_file(dir / "newdir/file.txt", "new\n");
        CHECK_FALSE(dirty());
    }
    SECTION("a modified tracked file is dirty until restored") {
        write_file(dir / "sub/other.txt", "changed\n");
        CHECK(dirty());
        write_file(dir / "sub/other.txt", "other\n");
        CHECK_FALSE(dirty());
    }
    SECTION("a staged change is dirty") {
        write_file(dir / "tracked.txt", "staged\n");
        run_git(dir.path(), "add tracked.txt");
        CHECK(dirty());
    }
    SECTION("a staged new file is dirty") {
        write_file(dir / "added.txt", "added\n");
        run_git(dir.path(), "add added.txt");
        CHECK(dirty());
    }
    SECTION("a deleted tracked file is dirty") {
        fs::remove(dir / "tracked.txt");
        CHECK(dirty());
    }
}

TEST_CASE("is_dirty in an unborn repository depends on the index", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir);
    write_file(dir / "untracked.txt", "x\n");
    CHECK_FALSE(repo.is_dirty().value());
    run_git(dir.path(), "add untracked.txt");
    CHECK(repo.is_dirty().value());
}

TEST_CASE("a moved-from Repository can be replaced by assignment", "[git]") {
    mlo::test::TempDir one;
    mlo::test::TempDir two;
    auto first = make_repo(one);
    auto second = make_repo(two);
    first = std::move(second);
    CHECK(first.work_tree() == fs::canonical(two.path()));
}
