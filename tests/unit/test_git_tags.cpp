// Tags for the model registry: Repository::create_tag / read_tag / tag_refs / identity, and the libgit2-free
// readers in tag_refs_files.hpp, which must agree with libgit2 on loose, packed and mixed refs.
// Fixture tags and commits are made with the git command-line tool, as in test_git_repository.cpp.

#include "../../src/git/libgit2_api.hpp" // only to isolate libgit2's config search path (IsolatedGitConfig)
#include "temp_dir.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mlo/git/repository.hpp>
#include <mlo/git/tag_refs_files.hpp>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using mlo::ErrorCode;
using mlo::git::Identity;
using mlo::git::Repository;
using mlo::git::TagRef;

namespace {

const std::string k_git_env = "GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null ";
const std::string k_git_options =
    " -c user.name=t -c user.email=t@t -c init.defaultBranch=main"
    " -c commit.gpgsign=false -c tag.gpgsign=false -c core.hooksPath=/dev/null ";

// Runs `git <args>` in `dir` with an identity and settings that do not depend on the machine's config.
void run_git(const fs::path& dir, const std::string& args) {
    std::string command =
        k_git_env + "git -C '" + dir.string() + "'" + k_git_options + args + " >/dev/null 2>&1";
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
}

// The standard output of `git <args>` in `dir`, without the trailing newline.
std::string git_output(const fs::path& dir, const std::string& args) {
    std::string command = k_git_env + "git -C '" + dir.string() + "'" + k_git_options + args + " 2>/dev/null";
    INFO(command);
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    char buffer[4096];
    while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe))
        out.append(buffer, n);
    REQUIRE(::pclose(pipe) == 0);
    while (!out.empty() && out.back() == '\n')
        out.pop_back();
    return out;
}

void write_file(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    REQUIRE(out.good());
}

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
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

Repository make_repo(const fs::path& dir) {
    auto repo = Repository::init(dir);
    REQUIRE(repo);
    return std::move(*repo);
}

bool is_hex40(const std::string& text) {
    return text.size() == 40 && std::all_of(text.begin(), text.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::vector<std::string> names_of(const std::vector<TagRef>& refs) {
    std::vector<std::string> names;
    names.reserve(refs.size());
    for (const auto& ref : refs)
        names.push_back(ref.name);
    return names;
}

const Identity k_tagger{"Ann Tagger", "ann@example.com"};

// Both readers must give the same, sorted list; returns it.
std::vector<TagRef> same_tag_refs(const Repository& repo) {
    auto by_libgit2 = repo.tag_refs();
    REQUIRE(by_libgit2);
    auto by_files = mlo::git::read_tag_refs_files(repo.common_dir());
    REQUIRE(by_files);
    CHECK(*by_files == *by_libgit2);
    auto names = names_of(*by_files);
    CHECK(std::is_sorted(names.begin(), names.end()));
    for (const auto& ref : *by_files)
        CHECK(is_hex40(ref.oid));
    return *by_files;
}

// Makes libgit2 read only the repository's own config: its global, XDG and system search paths point at
// an empty directory (or one holding a .gitconfig the test writes) until destruction, which restores the
// defaults. libgit2 reads HOME only once, when it is initialised, so setting HOME in the test would not
// reach it; the search path option is its own way to redirect.
class IsolatedGitConfig {
  public:
    explicit IsolatedGitConfig(const fs::path& home) {
        REQUIRE(mlo::git::detail::load_libgit2());
        for (int level : k_levels)
            REQUIRE(api().git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, home.c_str()) == 0);
    }
    ~IsolatedGitConfig() {
        // NULL restores the default, guessed again from the (unchanged) environment.
        for (int level : k_levels)
            api().git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, level, static_cast<const char*>(nullptr));
    }
    IsolatedGitConfig(const IsolatedGitConfig&) = delete;
    IsolatedGitConfig& operator=(const IsolatedGitConfig&) = delete;

  private:
    static constexpr int k_levels[] = {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL,
                                       GIT_CONFIG_LEVEL_PROGRAMDATA};
    static const mlo::git::detail::Libgit2Api& api() { return mlo::git::detail::libgit2(); }
};

} // namespace

TEST_CASE("create_tag then read_tag round-trips the tagger, time, message and target", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir.path());
    std::string first = commit_file(repo, "model.txt", "v1\n");
    std::string second = commit_file(repo, "model.txt", "v2\n");

    // Stored verbatim: '#' lines (which git's cleanup would strip), indentation, blank lines, the final
    // newline.
    const std::string message = "promote churn-clf to v1.2.0\n\n# not a comment\n  indented: yes\n\n";
    auto created = repo.create_tag("churn-clf@v1.2.0", first, message, k_tagger, 1700000000);
    REQUIRE(created);
    CHECK(is_hex40(*created));

    auto info = repo.read_tag("churn-clf@v1.2.0");
    REQUIRE(info);
    CHECK(info->name == "churn-clf@v1.2.0");
    CHECK(info->annotated);
    CHECK(info->tag_oid == *created);
    CHECK(info->target_oid == first);
    CHECK(info->tagger_name == "Ann Tagger");
    CHECK(info->tagger_email == "ann@example.com");
    CHECK(info->time == 1700000000);
    CHECK(info->offset_minutes == 0);
    CHECK(info->message == message);

    // git reads the same tag object.
    CHECK(git_output(dir.path(), "cat-file -t " + *created) == "tag");
    CHECK(git_output(dir.path(), "rev-parse 'churn-clf@v1.2.0^{commit}'") == first);
    CHECK(git_output(dir.path(),
                     "for-each-ref --format='%(taggername) %(taggeremail) %(taggerdate:raw)' "
                     "refs/tags/churn-clf@v1.2.0") == "Ann Tagger <ann@example.com> 1700000000 +0000");
    std::string raw = git_output(dir.path(), "cat-file tag " + *created);
    CHECK(raw.size() > message.size());
    CHECK(raw.find("\n\n" + message.substr(0, message.size() - 2)) != std::string::npos);

    SECTION("by TagRef, without looking the ref up again") {
        auto by_ref = repo.read_tag(TagRef{"churn-clf@v1.2.0", *created});
        REQUIRE(by_ref);
        CHECK(by_ref->message == message);
        CHECK(by_ref->target_oid == first);
    }
    SECTION("the target may be any revision; time 0 means now, in the local time zone") {
        auto before = std::chrono::system_clock::now();
        auto now_tag = repo.create_tag("churn-clf@v1.3.0", "main", "", k_tagger);
        auto after = std::chrono::system_clock::now();
        REQUIRE(now_tag);
        auto now_info = repo.read_tag("churn-clf@v1.3.0");
        REQUIRE(now_info);
        CHECK(now_info->target_oid == second);
        CHECK(now_info->message.empty());
        auto seconds = [](auto point) {
            return std::chrono::duration_cast<std::chrono::seconds>(point.time_since_epoch()).count();
        };
        CHECK(now_info->time >= seconds(before) - 1);
        CHECK(now_info->time <= seconds(after) + 1);
    }
    SECTION("an annotated tag made by git reads the same way") {
        run_git(dir.path(), "tag -a -m 'made by git' 'churn-clf#production#3' " + second);
        auto by_git = repo.read_tag("churn-clf#production#3");
        REQUIRE(by_git);
        CHECK(by_git->annotated);
        CHECK(by_git->target_oid == second);
        CHECK(by_git->tagger_name == "t");
        CHECK(by_git->tagger_email == "t@t");
        CHECK(by_git->message == "made by git\n");
    }
    SECTION("unknown revision, NUL bytes and unusable identities are input errors") {
        auto unknown = repo.create_tag("x@v1", "no-such-branch", "m", k_tagger);
        REQUIRE_FALSE(unknown);
        CHECK(unknown.error().code == ErrorCode::input);
        CHECK_THAT(unknown.error().message, Catch::Contains("no-such-branch"));

        auto nul = repo.create_tag("x@v1", first, std::string("a\0b", 3), k_tagger);
        REQUIRE_FALSE(nul);
        CHECK(nul.error().code == ErrorCode::input);

        auto bad_tagger = repo.create_tag("x@v1", first, "m", Identity{"Ann <x>", "ann@example.com"});
        REQUIRE_FALSE(bad_tagger);
        CHECK(bad_tagger.error().code == ErrorCode::input);

        auto empty_tagger = repo.create_tag("x@v1", first, "m", Identity{"", ""});
        REQUIRE_FALSE(empty_tagger);
        CHECK(empty_tagger.error().code == ErrorCode::input);

        CHECK_FALSE(repo.read_tag("x@v1"));
    }
}

TEST_CASE("tag names may contain '/', '@', '#' and '!'", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir.path());
    std::string commit = commit_file(repo, "model.txt", "v1\n");
    std::vector<std::string> names = {"churn-clf@v1.2.0",      "churn-clf#production#3",
                                      "team/churn-clf@v2.0.0", "team/deep/fraud#staging#12",
                                      "fraud!detector@v1",     "a!b#c@d/e"};
    for (const auto& name : names) {
        auto created = repo.create_tag(name, commit, "register " + name + "\n", k_tagger, 1700000000);
        INFO(name);
        REQUIRE(created);
        auto info = repo.read_tag(name);
        REQUIRE(info);
        CHECK(info->name == name);
        CHECK(info->tag_oid == *created);
        CHECK(info->target_oid == commit);
        CHECK(info->message == "register " + name + "\n");
        CHECK(git_output(dir.path(), "rev-parse 'refs/tags/" + name + "^{commit}'") == commit);
    }
    auto refs = same_tag_refs(repo);
    std::sort(names.begin(), names.end());
    CHECK(names_of(refs) == names);
}

TEST_CASE("create_tag never moves an existing tag", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir.path());
    std::string first = commit_file(repo, "model.txt", "v1\n");
    std::string second = commit_file(repo, "model.txt", "v2\n");
    auto original = repo.create_tag("churn-clf@v1", first, "one\n", k_tagger, 1700000000);
    REQUIRE(original);

    auto again = repo.create_tag("churn-clf@v1", second, "two\n", k_tagger, 1700000001);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == ErrorCode::precondition);
    CHECK(again.error().message == "tag 'churn-clf@v1' already exists");
    auto info = repo.read_tag("churn-clf@v1");
    REQUIRE(info);
    CHECK(info->tag_oid == *original);
    CHECK(info->target_oid == first);
    CHECK(info->message == "one\n");

    SECTION("a lightweight tag made by git, loose or packed") {
        run_git(dir.path(), "tag light " + first);
        auto loose = repo.create_tag("light", second, "m", k_tagger);
        REQUIRE_FALSE(loose);
        CHECK(loose.error().code == ErrorCode::precondition);
        run_git(dir.path(), "pack-refs --all");
        auto packed = repo.create_tag("light", second, "m", k_tagger);
        REQUIRE_FALSE(packed);
        CHECK(packed.error().code == ErrorCode::precondition);
        CHECK(repo.read_tag("light").value().target_oid == first);
    }
    SECTION("a name that is a directory of tags, or inside a tag's name") {
        REQUIRE(repo.create_tag("team/churn@v1", first, "m", k_tagger));
        auto parent = repo.create_tag("team", second, "m", k_tagger);
        REQUIRE_FALSE(parent);
        CHECK(parent.error().code == ErrorCode::precondition);
        CHECK_THAT(parent.error().message, Catch::Contains("'team'") && Catch::Contains("team/churn@v1"));

        auto child = repo.create_tag("churn-clf@v1/sub", second, "m", k_tagger);
        REQUIRE_FALSE(child);
        CHECK(child.error().code == ErrorCode::precondition);
        CHECK_THAT(child.error().message, Catch::Contains("'churn-clf@v1'"));
    }
}

TEST_CASE("invalid tag names are refused with an input error", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir.path());
    std::string commit = commit_file(repo, "model.txt", "v1\n");
    for (const std::string name :
         {"a..b",          "x y",         "bad~1",       "",          "-leading-dash",
          "a@{1}",         "x^",          "a:b",         "what?",     "star*",
          "br[ack",        "back\\slash", "end.lock",    "trailing/", "/leading",
          "double//slash", ".hidden",     "dir/.hidden", "ends.",     "tab\tname"}) {
        INFO("name: '" << name << "'");
        auto created = repo.create_tag(name, commit, "m", k_tagger);
        REQUIRE_FALSE(created);
        CHECK(created.error().code == ErrorCode::input);
        CHECK_THAT(created.error().message, Catch::Contains("invalid tag name"));
        CHECK_FALSE(created.error().hint.empty());
    }
    CHECK(repo.tag_refs().value().empty());

    auto embedded_nul = repo.create_tag(std::string("a\0b", 3), commit, "m", k_tagger);
    REQUIRE_FALSE(embedded_nul);
    CHECK(embedded_nul.error().code == ErrorCode::input);

    auto missing = repo.read_tag("no-such-tag");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ErrorCode::input);
    CHECK(missing.error().message == "no tag 'no-such-tag'");
    auto invalid = repo.read_tag("a..b");
    REQUIRE_FALSE(invalid);
    CHECK(invalid.error().code == ErrorCode::input);

    auto bad_oid = repo.read_tag(TagRef{"x", "not-an-oid"});
    REQUIRE_FALSE(bad_oid);
    CHECK(bad_oid.error().code == ErrorCode::input);
    auto absent_object = repo.read_tag(TagRef{"x", std::string(40, 'a')});
    REQUIRE_FALSE(absent_object);
    CHECK(absent_object.error().code == ErrorCode::input);

    // A tag on a blob is listed like any other but has no commit to report.
    run_git(dir.path(), "tag blobtag HEAD:model.txt");
    CHECK(names_of(same_tag_refs(repo)) == std::vector<std::string>{"blobtag"});
    auto on_blob = repo.read_tag("blobtag");
    REQUIRE_FALSE(on_blob);
    CHECK(on_blob.error().code == ErrorCode::input);
    CHECK(on_blob.error().message == "tag 'blobtag' does not point at a commit");
}

TEST_CASE("tag_refs and read_tag_refs_files agree on loose, packed and mixed refs", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir.path());
    std::string first = commit_file(repo, "model.txt", "v1\n");
    std::string second = commit_file(repo, "model.txt", "v2\n");
    fs::path common = repo.common_dir();
    CHECK(common == fs::canonical(dir / ".git"));

    // A repository without tags has neither refs/tags content nor packed-refs.
    CHECK(same_tag_refs(repo).empty());

    auto v1 = repo.create_tag("churn-clf@v1.0.0", first, "v1\n", k_tagger, 1700000000);
    REQUIRE(v1);
    auto prod = repo.create_tag("churn-clf#production#1", first, "prod\n", k_tagger, 1700000100);
    REQUIRE(prod);
    auto nested = repo.create_tag("team/fraud@v1", second, "fraud\n", k_tagger, 1700000200);
    REQUIRE(nested);
    run_git(dir.path(), "tag lightweight " + second);
    run_git(dir.path(), "tag -a -m 'by git' 'team/deeper/x@v2' " + second);
    // Neither a symbolic ref nor an update in progress is a tag.
    run_git(dir.path(), "symbolic-ref refs/tags/symbolic refs/heads/main");
    write_file(common / "refs/tags/pending@v9.lock", first + "\n");

    const std::vector<std::string> all_names = {"churn-clf#production#1", "churn-clf@v1.0.0", "lightweight",
                                                "team/deeper/x@v2", "team/fraud@v1"};

    auto check_lightweight = [&](const std::vector<TagRef>& refs) {
        auto light =
            std::find_if(refs.begin(), refs.end(), [](const TagRef& r) { return r.name == "lightweight"; });
        REQUIRE(light != refs.end());
        CHECK(light->oid == second);
        auto info = repo.read_tag(*light);
        REQUIRE(info);
        CHECK_FALSE(info->annotated);
        CHECK(info->tag_oid == second);
        CHECK(info->target_oid == second);
        CHECK(info->tagger_name.empty());
        CHECK(info->message.empty());
        CHECK(info->time == 0);
    };

    SECTION("loose") {
        auto refs = same_tag_refs(repo);
        CHECK(names_of(refs) == all_names);
        check_lightweight(refs);
        for (const auto& ref : refs) {
            auto info = repo.read_tag(ref);
            REQUIRE(info);
            auto by_name = repo.read_tag(ref.name);
            REQUIRE(by_name);
            CHECK(info->tag_oid == by_name->tag_oid);
            CHECK(info->message == by_name->message);
        }
        CHECK(refs[1].oid == *v1);
    }
    SECTION("packed, then mixed") {
        run_git(dir.path(), "pack-refs --all");
        std::string packed = read_text(common / "packed-refs");
        REQUIRE_THAT(packed, Catch::Contains(*v1 + " refs/tags/churn-clf@v1.0.0\n^" + first));
        REQUIRE_FALSE(fs::exists(common / "refs/tags/churn-clf@v1.0.0"));
        auto refs = same_tag_refs(repo);
        CHECK(names_of(refs) == all_names);
        CHECK(refs[1].oid == *v1);
        check_lightweight(refs);

        // A new loose tag beside the packed ones.
        auto v2 = repo.create_tag("churn-clf@v2.0.0", second, "v2\n", k_tagger, 1700000300);
        REQUIRE(v2);
        REQUIRE(fs::exists(common / "refs/tags/churn-clf@v2.0.0"));
        // A loose ref overriding the packed one of the same name (git leaves the stale packed line).
        run_git(dir.path(), "tag -f lightweight " + first);
        REQUIRE(fs::exists(common / "refs/tags/lightweight"));
        REQUIRE_THAT(read_text(common / "packed-refs"), Catch::Contains(second + " refs/tags/lightweight\n"));

        auto mixed = same_tag_refs(repo);
        CHECK(names_of(mixed) == std::vector<std::string>{"churn-clf#production#1", "churn-clf@v1.0.0",
                                                          "churn-clf@v2.0.0", "lightweight",
                                                          "team/deeper/x@v2", "team/fraud@v1"});
        CHECK(mixed[2].oid == *v2);
        CHECK(mixed[3].oid == first);
        CHECK(repo.read_tag("lightweight").value().target_oid == first);

        // A loose symbolic ref hides the packed tag of the same name, for libgit2 and the files reader.
        fs::remove(common / "refs/tags/lightweight");
        run_git(dir.path(), "symbolic-ref refs/tags/lightweight refs/heads/main");
        auto shadowed = same_tag_refs(repo);
        CHECK(shadowed.size() == 5);
    }
    SECTION("ids written in upper case are reported in lower case") {
        std::string upper = second;
        std::transform(upper.begin(), upper.end(), upper.begin(), [](char c) { return std::toupper(c); });
        write_file(common / "refs/tags/upper", upper + "\n");
        auto refs = same_tag_refs(repo);
        CHECK(refs.size() == 6);
    }
}

TEST_CASE("read_tag_refs_files reports malformed files by name", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir.path());
    std::string commit = commit_file(repo, "model.txt", "v1\n");
    fs::path common = repo.common_dir();

    SECTION("no refs at all") {
        auto refs = mlo::git::read_tag_refs_files(common);
        REQUIRE(refs);
        CHECK(refs->empty());
        // A directory that is no git directory has no tags either.
        auto none = mlo::git::read_tag_refs_files(dir / "nowhere");
        REQUIRE(none);
        CHECK(none->empty());
    }
    SECTION("a packed-refs line") {
        write_file(common / "packed-refs", "# pack-refs with: peeled fully-peeled sorted \n" + commit +
                                               " refs/tags/good\nnot a ref line\n");
        auto refs = mlo::git::read_tag_refs_files(common);
        REQUIRE_FALSE(refs);
        CHECK(refs.error().code == ErrorCode::input);
        CHECK_THAT(refs.error().message, Catch::Contains((common / "packed-refs").string()) &&
                                             Catch::Contains("line 3") && Catch::Contains("not a ref line"));
    }
    SECTION("a packed-refs peel line") {
        write_file(common / "packed-refs", commit + " refs/tags/good\n^xyz\n");
        auto refs = mlo::git::read_tag_refs_files(common);
        REQUIRE_FALSE(refs);
        CHECK(refs.error().code == ErrorCode::input);
        CHECK_THAT(refs.error().message, Catch::Contains("line 2"));
    }
    SECTION("packed-refs without a final newline, with CRLF, and other refs") {
        write_file(common / "packed-refs", commit + " refs/heads/other\r\n" + commit +
                                               " refs/remotes/origin/x\n" + commit + " refs/tags/t");
        auto refs = mlo::git::read_tag_refs_files(common);
        REQUIRE(refs);
        CHECK(*refs == std::vector<TagRef>{{"t", commit}});
    }
    SECTION("a loose ref") {
        write_file(common / "refs/tags/team/broken", "garbage\n");
        auto refs = mlo::git::read_tag_refs_files(common);
        REQUIRE_FALSE(refs);
        CHECK(refs.error().code == ErrorCode::input);
        CHECK_THAT(refs.error().message, Catch::Contains((common / "refs/tags/team/broken").string()));

        write_file(common / "refs/tags/team/broken", commit + "x\n");
        CHECK_FALSE(mlo::git::read_tag_refs_files(common));
        write_file(common / "refs/tags/team/broken", "");
        CHECK_FALSE(mlo::git::read_tag_refs_files(common));
        write_file(common / "refs/tags/team/broken", commit);
        CHECK(mlo::git::read_tag_refs_files(common).value() == std::vector<TagRef>{{"team/broken", commit}});
    }
}

TEST_CASE("read_tag_refs_files handles thousands of tags", "[git]") {
    mlo::test::TempDir dir;
    auto repo = make_repo(dir.path());
    std::string commit = commit_file(repo, "model.txt", "v1\n");
    // Written directly: 2,500 `git tag` processes would dominate the test's time.
    fs::path common = repo.common_dir();
    std::string packed = "# pack-refs with: peeled fully-peeled sorted \n";
    for (int i = 0; i < 2500; ++i) {
        std::string name = "model-" + std::to_string(i % 50) + "@v" + std::to_string(i);
        if (i % 2 == 0)
            write_file(common / "refs/tags" / ("team-" + std::to_string(i % 7)) / name, commit + "\n");
        else
            packed.append(commit).append(" refs/tags/").append(name).append("\n");
    }
    write_file(common / "packed-refs", packed);
    auto start = std::chrono::steady_clock::now();
    auto refs = same_tag_refs(repo);
    CHECK(refs.size() == 2500);
    auto files_start = std::chrono::steady_clock::now();
    auto again = mlo::git::read_tag_refs_files(common);
    auto files_end = std::chrono::steady_clock::now();
    REQUIRE(again);
    CHECK(again->size() == 2500);
    auto ms = [](auto d) {
        return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1000.0;
    };
    INFO("both readers: " << ms(files_start - start) << " ms, files only: " << ms(files_end - files_start)
                          << " ms");
    // Generous: a few ms on a laptop; only a pathological regression (a process per tag) fails this.
    CHECK(ms(files_end - files_start) < 500.0);
}

TEST_CASE("find_common_dir finds the common git directory", "[git]") {
    mlo::test::TempDir dir;
    fs::path main_dir = dir / "main";
    auto repo = make_repo(main_dir);
    commit_file(repo, "model.txt", "v1\n");
    fs::path git_dir = fs::canonical(main_dir / ".git");
    CHECK(repo.common_dir() == git_dir);

    SECTION("from the work tree, a subdirectory, a file and a path not yet created") {
        fs::create_directories(main_dir / "a/b");
        for (const fs::path& from : {main_dir, main_dir / "a/b", main_dir / "a/b/", main_dir / "model.txt",
                                     main_dir / "a/not-yet/file"}) {
            INFO(from);
            auto found = mlo::git::find_common_dir(from);
            REQUIRE(found);
            REQUIRE(found->has_value());
            CHECK(**found == git_dir);
        }
    }
    SECTION("from a worktree: the main repository's .git") {
        run_git(main_dir, "worktree add -q ../wt");
        fs::create_directories(dir / "wt/sub");
        auto found = mlo::git::find_common_dir(dir / "wt/sub");
        REQUIRE(found);
        REQUIRE(found->has_value());
        CHECK(**found == git_dir);

        auto worktree_repo = Repository::discover(dir / "wt/sub");
        REQUIRE(worktree_repo);
        CHECK(worktree_repo->common_dir() == git_dir);
        REQUIRE(worktree_repo->create_tag("from-worktree@v1", "HEAD", "m\n", k_tagger, 1700000000));
        CHECK(fs::exists(git_dir / "refs/tags/from-worktree@v1"));
        CHECK(names_of(same_tag_refs(*worktree_repo)) == std::vector<std::string>{"from-worktree@v1"});
        CHECK(mlo::git::read_tag_refs_files(**found).value() == worktree_repo->tag_refs().value());
    }
    SECTION("through a relative gitdir link (as submodules have)") {
        run_git(dir.path(), "init -q --bare store/linked.git");
        fs::create_directories(dir / "linked/src");
        write_file(dir / "linked/.git", "gitdir: ../store/linked.git\n");
        auto found = mlo::git::find_common_dir(dir / "linked/src");
        REQUIRE(found);
        REQUIRE(found->has_value());
        CHECK(**found == fs::canonical(dir / "store/linked.git"));
    }
    SECTION("a broken .git file is an input error naming it") {
        fs::create_directories(dir / "broken");
        write_file(dir / "broken/.git", "nonsense\n");
        auto found = mlo::git::find_common_dir(dir / "broken");
        REQUIRE_FALSE(found);
        CHECK(found.error().code == ErrorCode::input);
        CHECK_THAT(found.error().message, Catch::Contains((dir / "broken/.git").string()));

        write_file(dir / "broken/.git", "gitdir: ../missing.git\n");
        auto dangling = mlo::git::find_common_dir(dir / "broken");
        REQUIRE_FALSE(dangling);
        CHECK(dangling.error().code == ErrorCode::input);
    }
    SECTION("outside any repository") {
        fs::create_directories(dir / "plain/sub");
        auto found = mlo::git::find_common_dir(dir / "plain/sub");
        REQUIRE(found);
        CHECK_FALSE(found->has_value());
        // An empty `.git` directory is no repository; the search goes on upwards, as git's does.
        fs::create_directories(dir / "plain/.git");
        auto skipped = mlo::git::find_common_dir(dir / "plain/sub");
        REQUIRE(skipped);
        CHECK_FALSE(skipped->has_value());
    }
}

TEST_CASE("identity reads user.name and user.email from the git config", "[git]") {
    mlo::test::TempDir dir;
    fs::path home = dir / "home";
    fs::create_directories(home);
    // Before the repository is opened: libgit2 locates the global and system files when it loads a
    // repository's config.
    IsolatedGitConfig isolated(home);
    auto repo = make_repo(dir / "repo");

    auto missing = repo.identity();
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == ErrorCode::precondition);
    CHECK_THAT(missing.error().message, Catch::Contains("user.name") && Catch::Contains("user.email"));
    CHECK_THAT(missing.error().hint, Catch::Contains("git config user.email you@example.com"));

    // The repository's config is re-read at each call.
    run_git(dir / "repo", "config user.name 'Repo User'");
    auto no_email = repo.identity();
    REQUIRE_FALSE(no_email);
    CHECK(no_email.error().code == ErrorCode::precondition);
    CHECK(no_email.error().message == "git user.email is not set");
    CHECK(no_email.error().hint == "git config user.email you@example.com");

    SECTION("the global config supplies what the repository's lacks") {
        write_file(home / ".gitconfig", "[user]\n\tname = Global User\n\temail = global@example.com\n");
        // A global file that did not exist when the repository was opened is seen by a new Repository.
        auto reopened = Repository::discover(dir / "repo");
        REQUIRE(reopened);
        auto identity = reopened->identity();
        REQUIRE(identity);
        CHECK(identity->name == "Repo User");
        CHECK(identity->email == "global@example.com");
    }
    SECTION("the repository's own config") {
        run_git(dir / "repo", "config user.email repo@example.com");
        auto identity = repo.identity();
        REQUIRE(identity);
        CHECK(identity->name == "Repo User");
        CHECK(identity->email == "repo@example.com");

        // What a registry does with it.
        commit_file(repo, "model.txt", "v1\n");
        REQUIRE(repo.create_tag("churn-clf@v1", "HEAD", "m\n", *identity, 1700000000));
        auto info = repo.read_tag("churn-clf@v1");
        REQUIRE(info);
        CHECK(info->tagger_name == "Repo User");
        CHECK(info->tagger_email == "repo@example.com");
    }
    SECTION("a name without an email and an empty name") {
        run_git(dir / "repo", "config --unset user.name");
        run_git(dir / "repo", "config user.email repo@example.com");
        auto no_name = repo.identity();
        REQUIRE_FALSE(no_name);
        CHECK(no_name.error().code == ErrorCode::precondition);
        CHECK(no_name.error().message == "git user.name is not set");
        CHECK_THAT(no_name.error().hint, Catch::StartsWith("git config user.name"));
        run_git(dir / "repo", "config user.name ''");
        CHECK_FALSE(repo.identity());
    }
}
