// Compiling MLflow-style run filters to SQL.
//
// A filter is tokenized by hand and parsed by recursive descent:
//
//   filter     := or_expr END
//   or_expr    := and_expr ("or" and_expr)*
//   and_expr   := not_expr ("and" not_expr)*
//   not_expr   := "not" not_expr | "(" or_expr ")" | condition
//   condition  := field OP value | field ["not"] "in" "(" value ("," value)* ")"
//               | field "is" ["not"] "null" | field ["not"] ("like" | "ilike") string
//   field      := PREFIX "." NAME | PREFIX "." `quoted name`
//
// Every condition becomes a self-contained, parenthesized SQL expression over the runs table `r`, and
// every piece of user text (keys included) becomes a `?` binding, so no filter can change the shape of
// the query. Metrics, params and tags live in side tables, so a condition on them is an EXISTS over
// the run's rows for that key: "the run has this key and its value matches". That makes `!=` and
// `not in` mean "the key exists with another value" (MLflow's semantics): a run without the key
// matches neither `= 1` nor `!= 1`; `is null` is the way to ask for runs lacking a key.
//
// Params are strings (MLflow logs them with str()), but users compare them with numbers
// (`params.lr < 0.1`), so the index keeps a `num` column holding the value when it parses as a number.
// A quoted literal compares with `value` as a string, a bare number with `num`; a param whose value
// is not a number is "different" from every number (it matches `!=` / `not in`) but neither smaller
// nor larger. SQLite's LIKE ignores ASCII case, so `like` is compiled to the equivalent GLOB pattern
// (case-sensitive, as in MLflow) and `ilike` to lower(x) LIKE lower(pattern).
//
// Errors point at the offending token: "bad filter at column N: ..." with a hint that repeats the
// filter and puts a caret under column N (counted in code points, so UTF-8 keys line up).

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <mlo/runs/run_filter.hpp>
#include <mlo/util/did_you_mean.hpp>
#include <optional>

namespace mlo::runs {
namespace {

// Deep nesting would otherwise overflow the parser's stack (and SQLite's expression depth).
constexpr int k_max_depth = 100;

enum class TokenKind { word, string, quoted_name, number, op, lparen, rparen, comma, end };

struct Token {
    TokenKind kind = TokenKind::end;
    size_t offset = 0; // byte offset in the source text
    size_t length = 0; // bytes of source text, quotes included
    std::string text;  // words and operators as written; strings and quoted names unescaped
    double number = 0; // for numbers
};

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_word_start(char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalpha(u) || c == '_' || u >= 0x80;
}

// Keys may hold dots, dashes and slashes (`params.model.depth`, `metrics.val/loss`) without backticks;
// there is no arithmetic in the grammar for them to clash with.
bool is_word_char(char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '_' || c == '.' || c == '-' || c == '/' || u >= 0x80;
}

bool is_op_char(char c) {
    return c == '=' || c == '!' || c == '<' || c == '>';
}

// The 1-based column of a byte offset, counted in code points so a caret lines up under UTF-8 text.
size_t column_of(std::string_view text, size_t offset) {
    size_t column = 1;
    for (size_t i = 0; i < offset && i < text.size(); ++i)
        if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) // not a UTF-8 continuation byte
            ++column;
    return column;
}

// The text being compiled, and how to report an error in it.
struct Source {
    std::string_view text;
    std::string_view what; // "filter" or "sort key"

    Error error(size_t offset, const std::string& message, const std::string& advice = {}) const {
        size_t column = column_of(text, offset);
        std::string line(text);
        std::replace_if(
            line.begin(), line.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
        std::string hint = line + "\n" + std::string(column - 1, ' ') + "^";
        if (!advice.empty())
            hint += "\n" + advice;
        return Error{ErrorCode::usage,
                     "bad " + std::string(what) + " at column " + std::to_string(column) + ": " + message,
                     hint};
    }
};

Result<std::vector<Token>> tokenize(const Source& source) {
    std::string_view s = source.text;
    std::vector<Token> tokens;
    size_t i = 0;
    size_t last_end = 0;
    auto push = [&](TokenKind kind, size_t start, std::string text, double number = 0) {
        tokens.push_back(Token{kind, start, i - start, std::move(text), number});
        last_end = i;
    };
    while (true) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
            ++i;
        if (i == s.size())
            break;
        size_t start = i;
        char c = s[i];
        if (c == '(' || c == ')' || c == ',') {
            ++i;
            push(c == '('   ? TokenKind::lparen
                 : c == ')' ? TokenKind::rparen
                            : TokenKind::comma,
                 start, std::string(1, c));
        } else if (c == '\'' || c == '"' || c == '`') {
            // A doubled quote stands for itself, as in SQL: 'it''s'.
            std::string text;
            ++i;
            bool closed = false;
            while (i < s.size()) {
                if (s[i] == c) {
                    if (i + 1 < s.size() && s[i + 1] == c) {
                        text += c;
                        i += 2;
                        continue;
                    }
                    ++i;
                    closed = true;
                    break;
                }
                text += s[i++];
            }
            if (!closed)
                return fail(source.error(start,
                                         c == '`' ? "unterminated `quoted name`" : "unterminated string",
                                         std::string("close it with ") + c));
            push(c == '`' ? TokenKind::quoted_name : TokenKind::string, start, std::move(text));
        } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                   (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) ||
                   ((c == '-' || c == '+') && i + 1 < s.size() &&
                    (std::isdigit(static_cast<unsigned char>(s[i + 1])) || s[i + 1] == '.'))) {
            auto digits = [&] {
                while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
                    ++i;
            };
            if (c == '-' || c == '+')
                ++i;
            digits();
            if (i < s.size() && s[i] == '.') {
                ++i;
                digits();
            }
            if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
                size_t j = i + 1;
                if (j < s.size() && (s[j] == '+' || s[j] == '-'))
                    ++j;
                if (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) {
                    i = j;
                    digits();
                }
            }
            bool glued = i < s.size() && is_word_char(s[i]);
            while (i < s.size() && is_word_char(s[i]))
                ++i;
            std::string text(s.substr(start, i - start));
            double value = 0;
            const char* first = text.data() + (text[0] == '+' ? 1 : 0);
            auto [end, ec] = std::from_chars(first, text.data() + text.size(), value);
            if (glued || ec != std::errc() || end != text.data() + text.size())
                return fail(
                    source.error(start, "bad number '" + text + "'", "quote text values: '" + text + "'"));
            push(TokenKind::number, start, std::move(text), value);
        } else if (is_word_start(c)) {
            while (i < s.size() && is_word_char(s[i]))
                ++i;
            push(TokenKind::word, start, std::string(s.substr(start, i - start)));
        } else if (is_op_char(c)) {
            while (i < s.size() && is_op_char(s[i]))
                ++i;
            std::string op(s.substr(start, i - start));
            static const std::array<std::string_view, 7> k_ops = {"=", "!=", "<>", "<", "<=", ">", ">="};
            if (std::find(k_ops.begin(), k_ops.end(), op) == k_ops.end()) {
                std::string advice = "operators: = != <> < <= > >= in, not in, like, ilike, is null";
                if (op == "==")
                    advice = "write '=' for equality";
                else if (op == "=>")
                    advice = "write '>='";
                else if (op == "=<")
                    advice = "write '<='";
                return fail(source.error(start, "unknown operator '" + op + "'", advice));
            }
            push(TokenKind::op, start, std::move(op));
        } else if (c == '&' || c == '|') {
            return fail(source.error(start, std::string("unexpected '") + c + "'",
                                     c == '&' ? "write 'and'" : "write 'or'"));
        } else {
            return fail(source.error(start, std::string("unexpected character '") + c + "'"));
        }
    }
    // The end sits just after the last token, so "metrics.acc >   " points right after the '>'.
    tokens.push_back(Token{TokenKind::end, last_end, 0, {}, 0});
    return tokens;
}

enum class FieldKind { metric, param, tag, attribute };

// How an attribute is stored and compared.
enum class AttrType { string, status, number, boolean };

struct Attribute {
    std::string_view name;
    std::string_view filter_sql; // the expression a filter compares
    std::string_view order_sql;  // the expression a sort key orders by (finer-grained for times)
    AttrType type;
};

// MLflow reports times in milliseconds since the epoch; the index keeps nanoseconds.
constexpr std::array<Attribute, 15> k_attributes = {{
    {"run_id", "r.id", "r.id", AttrType::string},
    {"id", "r.id", "r.id", AttrType::string},
    {"status", "r.status", "r.status", AttrType::status},
    {"start_time", "(r.started_ns / 1000000)", "r.started_ns", AttrType::number},
    {"end_time", "(r.ended_ns / 1000000)", "r.ended_ns", AttrType::number},
    {"duration", "r.duration_s", "r.duration_s", AttrType::number},
    {"git_commit", "r.git_commit", "r.git_commit", AttrType::string},
    {"commit", "r.git_commit", "r.git_commit", AttrType::string},
    {"branch", "r.git_branch", "r.git_branch", AttrType::string},
    {"git_branch", "r.git_branch", "r.git_branch", AttrType::string},
    {"dirty", "r.dirty", "r.dirty", AttrType::boolean},
    {"name", "r.name", "r.name", AttrType::string},
    {"run_name", "r.name", "r.name", AttrType::string},
    {"stages", "r.stages", "r.stages", AttrType::string},
    {"stage", "r.stages", "r.stages", AttrType::string},
}};

struct Field {
    FieldKind kind = FieldKind::metric;
    std::string key;                 // metrics/params/tags: the key, bound to a placeholder
    const Attribute* attr = nullptr; // attributes
    std::string display;             // "metrics.acc", for messages
};

struct Value {
    enum class Type { string, number, boolean } type = Type::string;
    std::string text;
    double number = 0;
    size_t offset = 0;
    std::string raw; // as written, for messages
};

// The side table holding a metrics/params/tags field, and its alias in the subquery.
struct SideTable {
    std::string_view table;
    std::string_view alias;
};

SideTable side_table(FieldKind kind) {
    switch (kind) {
    case FieldKind::metric:
        return {"run_metrics", "m"};
    case FieldKind::param:
        return {"run_params", "p"};
    default:
        return {"run_tags", "t"};
    }
}

// SQLite's LIKE is case-insensitive for ASCII; GLOB is not. Translate the LIKE wildcards and quote
// GLOB's own metacharacters so the pattern means exactly what the LIKE pattern meant.
std::string like_to_glob(std::string_view pattern) {
    std::string out;
    for (char c : pattern) {
        if (c == '%')
            out += '*';
        else if (c == '_')
            out += '?';
        else if (c == '*' || c == '?' || c == '[')
            out += std::string("[") + c + "]";
        else
            out += c;
    }
    return out;
}

class Parser {
  public:
    Parser(const Source& source, std::vector<Token> tokens) : m_source(source), m_tokens(std::move(tokens)) {}

    Result<SqlFragment> filter() {
        auto sql = or_expr();
        if (!sql)
            return fail(std::move(sql.error()));
        const Token& t = peek();
        if (t.kind == TokenKind::rparen)
            return fail(error(t, "unbalanced ')': there is no '(' to close"));
        if (t.kind != TokenKind::end)
            return fail(error(t, "unexpected " + describe(t) + " after a complete condition",
                              "join conditions with 'and' or 'or'"));
        return SqlFragment{std::move(*sql), std::move(m_bindings)};
    }

    Result<SqlFragment> order() {
        std::string sql;
        while (true) {
            auto parsed = field();
            if (!parsed)
                return fail(std::move(parsed.error()));
            std::string direction = "ASC";
            if (keyword("asc") || keyword("desc")) {
                direction = keyword("asc") ? "ASC" : "DESC";
                advance();
            }
            if (!sql.empty())
                sql += ", ";
            sql += order_term(*parsed, direction);
            const Token& t = peek();
            if (t.kind == TokenKind::end)
                break;
            if (t.kind != TokenKind::comma)
                return fail(error(t, "expected 'asc', 'desc' or ',' after " + parsed->display + ", got " +
                                         describe(t)));
            advance();
        }
        return SqlFragment{std::move(sql), std::move(m_bindings)};
    }

  private:
    const Token& peek() const { return m_tokens[m_pos]; }
    const Token& advance() {
        const Token& t = m_tokens[m_pos];
        if (t.kind != TokenKind::end)
            ++m_pos;
        return t;
    }
    bool keyword(std::string_view word) const {
        return peek().kind == TokenKind::word && lower(peek().text) == word;
    }

    Error error(const Token& at, const std::string& message, const std::string& advice = {}) const {
        return m_source.error(at.offset, message, advice);
    }
    Error error(size_t offset, const std::string& message, const std::string& advice = {}) const {
        return m_source.error(offset, message, advice);
    }

    std::string describe(const Token& t) const {
        if (t.kind == TokenKind::end)
            return "the end of the " + std::string(m_source.what);
        std::string raw(m_source.text.substr(t.offset, t.length));
        if (t.kind == TokenKind::string || t.kind == TokenKind::quoted_name)
            return raw;
        return "'" + raw + "'";
    }

    Result<std::string> or_expr() { return chain(&Parser::and_expr, "or", " OR "); }
    Result<std::string> and_expr() { return chain(&Parser::not_expr, "and", " AND "); }

    Result<std::string> chain(Result<std::string> (Parser::*operand)(), std::string_view word,
                              std::string_view sql_op) {
        auto first = (this->*operand)();
        if (!first)
            return first;
        if (!keyword(word))
            return first;
        std::string sql = "(" + *first;
        while (keyword(word)) {
            advance();
            auto next = (this->*operand)();
            if (!next)
                return next;
            sql += std::string(sql_op) + *next;
        }
        return sql + ")";
    }

    Result<std::string> not_expr() {
        const Token& t = peek();
        if (++m_depth > k_max_depth)
            return fail(error(t, "the " + std::string(m_source.what) + " nests too deeply"));
        Result<std::string> sql;
        if (keyword("not")) {
            advance();
            sql = not_expr();
            if (sql)
                sql = "(NOT " + *sql + ")";
        } else if (t.kind == TokenKind::lparen) {
            advance();
            sql = or_expr();
            if (sql) {
                const Token& close = peek();
                if (close.kind == TokenKind::end)
                    sql = fail(error(t, "'(' is never closed"));
                else if (close.kind != TokenKind::rparen)
                    sql = fail(error(close, "expected ')' to close the '(' at column " +
                                                std::to_string(column_of(m_source.text, t.offset)) +
                                                ", got " + describe(close)));
                else
                    advance();
            }
        } else {
            sql = condition();
        }
        --m_depth;
        return sql;
    }

    Result<Field> field() {
        const Token& t = peek();
        std::string example = m_source.what == "filter" ? "a condition like metrics.acc > 0.9"
                                                        : "a sort key like metrics.acc desc";
        if (t.kind != TokenKind::word)
            return fail(error(t, "expected " + example + ", got " + describe(t)));
        size_t dot = t.text.find('.');
        if (dot == std::string::npos) {
            static const std::array<std::string_view, 12> k_keywords = {
                "and", "or", "not", "in", "is", "null", "like", "ilike", "true", "false", "asc", "desc"};
            if (std::find(k_keywords.begin(), k_keywords.end(), lower(t.text)) != k_keywords.end())
                return fail(error(t, "expected " + example + ", got " + describe(t)));
            return fail(error(t, "'" + t.text + "' needs a prefix",
                              "write metrics." + t.text + ", params." + t.text + ", tags." + t.text +
                                  " or attributes." + t.text));
        }
        std::string prefix = lower(t.text.substr(0, dot));
        Field f;
        if (prefix == "metrics" || prefix == "metric")
            f.kind = FieldKind::metric;
        else if (prefix == "params" || prefix == "param" || prefix == "parameters" || prefix == "parameter")
            f.kind = FieldKind::param;
        else if (prefix == "tags" || prefix == "tag")
            f.kind = FieldKind::tag;
        else if (prefix == "attributes" || prefix == "attribute" || prefix == "attr" || prefix == "run")
            f.kind = FieldKind::attribute;
        else
            return fail(error(t,
                              "unknown field kind '" + t.text.substr(0, dot) + "'" +
                                  util::did_you_mean(prefix, {"metrics", "params", "tags", "attributes",
                                                              "metric", "param", "tag", "attribute"}),
                              "fields start with metrics., params., tags. or attributes."));
        static const std::array<std::string_view, 4> k_plural = {"metrics", "params", "tags", "attributes"};
        std::string plural(k_plural[static_cast<size_t>(f.kind)]);

        std::string name = t.text.substr(dot + 1);
        size_t name_offset = t.offset + dot + 1;
        advance();
        if (name.empty()) {
            // metrics.`f1 score` or metrics."f1 score"
            const Token& quoted = peek();
            bool double_quoted = quoted.kind == TokenKind::string && m_source.text[quoted.offset] == '"';
            if (quoted.kind != TokenKind::quoted_name && !double_quoted)
                return fail(error(name_offset, "expected a key name after '" + t.text + "'",
                                  "quote odd names with backticks: " + plural + ".`f1 score`"));
            if (quoted.text.empty())
                return fail(error(quoted, "empty key name"));
            name = quoted.text;
            name_offset = quoted.offset;
            advance();
        }
        f.display = plural + "." + name;
        if (f.kind != FieldKind::attribute) {
            f.key = std::move(name);
            return f;
        }
        std::string attr_name = lower(name);
        for (const auto& a : k_attributes)
            if (a.name == attr_name)
                f.attr = &a;
        if (f.attr == nullptr) {
            std::vector<std::string> names;
            names.reserve(k_attributes.size());
            for (const auto& a : k_attributes)
                names.emplace_back(a.name);
            return fail(error(name_offset,
                              "unknown attribute '" + name + "'" + util::did_you_mean(attr_name, names),
                              "attributes: run_id, status, start_time, end_time, duration, git_commit, "
                              "branch, dirty, name, stages"));
        }
        return f;
    }

    Result<Value> value(const std::string& after) {
        const Token& t = peek();
        Value v;
        v.offset = t.offset;
        v.raw = std::string(m_source.text.substr(t.offset, t.length));
        if (t.kind == TokenKind::number) {
            v.type = Value::Type::number;
            v.number = t.number;
        } else if (t.kind == TokenKind::string) {
            v.type = Value::Type::string;
            v.text = t.text;
        } else if (keyword("true") || keyword("false")) {
            v.type = Value::Type::boolean;
            v.number = keyword("true") ? 1 : 0;
        } else if (keyword("null")) {
            return fail(error(t, "cannot compare with null", "write 'is null' or 'is not null'"));
        } else if (t.kind == TokenKind::end) {
            return fail(error(t, "expected a value after " + after));
        } else if (t.kind == TokenKind::quoted_name) {
            return fail(error(t, "expected a value after " + after + ", got " + describe(t),
                              "backticks quote key names; quote strings with '...'"));
        } else if (t.kind == TokenKind::word) {
            return fail(error(t, "expected a value after " + after + ", got " + describe(t),
                              "quote strings: '" + t.text + "'"));
        } else {
            return fail(error(t, "expected a value after " + after + ", got " + describe(t)));
        }
        advance();
        return v;
    }

    Result<std::string> condition() {
        auto parsed = field();
        if (!parsed)
            return fail(std::move(parsed.error()));
        const Field& f = *parsed;
        const Token& t = peek();
        if (t.kind == TokenKind::op) {
            std::string op = t.text == "!=" ? "<>" : t.text;
            advance();
            auto v = value("'" + t.text + "'");
            if (!v)
                return fail(std::move(v.error()));
            return compare(f, op, *v);
        }
        if (keyword("is")) {
            advance();
            bool negated = keyword("not");
            if (negated)
                advance();
            if (!keyword("null"))
                return fail(error(peek(), std::string("expected 'null' after ") +
                                              (negated ? "'is not'" : "'is'") + ", got " + describe(peek())));
            advance();
            return null_test(f, !negated);
        }
        bool negated = false;
        if (keyword("not")) {
            advance();
            negated = true;
            if (!keyword("in") && !keyword("like") && !keyword("ilike"))
                return fail(
                    error(peek(), "expected 'in', 'like' or 'ilike' after 'not', got " + describe(peek())));
        }
        if (keyword("in")) {
            advance();
            auto values = list();
            if (!values)
                return fail(std::move(values.error()));
            return in_list(f, *values, negated);
        }
        if (keyword("like") || keyword("ilike")) {
            bool ilike = keyword("ilike");
            const Token& like_token = advance();
            auto v = value("'" + like_token.text + "'");
            if (!v)
                return fail(std::move(v.error()));
            return like(f, like_token, *v, ilike, negated);
        }
        return fail(error(t, "expected an operator after " + f.display + ", got " + describe(t),
                          "operators: = != <> < <= > >= in, not in, like, ilike, is null, is not null"));
    }

    Result<std::vector<Value>> list() {
        const Token& open = peek();
        if (open.kind != TokenKind::lparen)
            return fail(error(open, "expected '(' after 'in', got " + describe(open), "write in ('a', 'b')"));
        advance();
        if (peek().kind == TokenKind::rparen)
            return fail(error(open, "empty list after 'in'"));
        std::vector<Value> values;
        std::string after = "'('";
        while (true) {
            auto v = value(after);
            if (!v)
                return fail(std::move(v.error()));
            values.push_back(std::move(*v));
            const Token& t = peek();
            if (t.kind == TokenKind::rparen) {
                advance();
                return values;
            }
            if (t.kind == TokenKind::end)
                return fail(error(open, "'(' is never closed"));
            if (t.kind != TokenKind::comma)
                return fail(error(t, "expected ',' or ')' in the list, got " + describe(t)));
            advance();
            after = "','";
        }
    }

    // The column of a metrics/params/tags side table that `v` compares with, or an error at `v`.
    Result<std::string> side_column(const Field& f, const Value& v) const {
        std::string alias(side_table(f.kind).alias);
        switch (f.kind) {
        case FieldKind::metric:
            if (v.type == Value::Type::number)
                return alias + ".value";
            return fail(error(v.offset, f.display + " is a number and cannot be compared with " + v.raw));
        case FieldKind::param:
            if (v.type == Value::Type::string)
                return alias + ".value";
            if (v.type == Value::Type::number)
                return alias + ".num";
            return fail(error(v.offset, "params are strings; true and false are only for attributes.dirty",
                              "quote the value: '" + v.raw + "'"));
        default:
            if (v.type == Value::Type::string)
                return alias + ".value";
            return fail(error(v.offset, "tags are strings and cannot be compared with " + v.raw,
                              "quote the value: '" + v.raw + "'"));
        }
    }

    SqlValue binding(const Value& v) const {
        if (v.type == Value::Type::string)
            return v.text;
        return v.number;
    }

    // "EXISTS (SELECT 1 FROM run_params p WHERE p.run_id = r.id AND p.key = ? AND <predicate>)"; the
    // key's binding must be pushed before the predicate's.
    std::string exists(const Field& f, const std::string& predicate) const {
        SideTable s = side_table(f.kind);
        std::string a(s.alias);
        std::string sql = "EXISTS (SELECT 1 FROM " + std::string(s.table) + " " + a + " WHERE " + a +
                          ".run_id = r.id AND " + a + ".key = ?";
        if (!predicate.empty())
            sql += " AND " + predicate;
        return sql + ")";
    }

    // An attribute's expression and the placeholder it compares with; status ignores case.
    std::string attr_lhs(const Field& f) const {
        std::string column(f.attr->filter_sql);
        return f.attr->type == AttrType::status ? "upper(" + column + ")" : column;
    }
    std::string attr_rhs(const Field& f) const { return f.attr->type == AttrType::status ? "upper(?)" : "?"; }

    Result<SqlValue> attr_binding(const Field& f, const Value& v) const {
        switch (f.attr->type) {
        case AttrType::string:
        case AttrType::status:
            if (v.type == Value::Type::string)
                return SqlValue(v.text);
            return fail(error(v.offset, f.display + " is text and cannot be compared with " + v.raw,
                              "quote the value: '" + v.raw + "'"));
        case AttrType::number:
            if (v.type == Value::Type::number)
                return SqlValue(v.number);
            return fail(
                error(v.offset, f.display + " is a number and cannot be compared with " + v.raw,
                      f.attr->name.ends_with("_time") ? "times are milliseconds since the epoch" : ""));
        case AttrType::boolean:
            if (v.type != Value::Type::string)
                return SqlValue(v.number);
            if (lower(v.text) == "true" || v.text == "1")
                return SqlValue(1.0);
            if (lower(v.text) == "false" || v.text == "0")
                return SqlValue(0.0);
            return fail(error(v.offset, f.display + " is true or false, not " + v.raw));
        }
        return fail(error(v.offset, "internal: unknown attribute type"));
    }

    Result<std::string> compare(const Field& f, const std::string& op, const Value& v) {
        if (f.kind == FieldKind::attribute) {
            auto b = attr_binding(f, v);
            if (!b)
                return fail(std::move(b.error()));
            m_bindings.push_back(std::move(*b));
            return "(" + attr_lhs(f) + " " + op + " " + attr_rhs(f) + ")";
        }
        auto column = side_column(f, v);
        if (!column)
            return fail(std::move(column.error()));
        m_bindings.emplace_back(f.key);
        m_bindings.push_back(binding(v));
        // A param that is not a number has a NULL num; it differs from every number.
        std::string predicate =
            op == "<>" ? "(" + *column + " IS NULL OR " + *column + " <> ?)" : *column + " " + op + " ?";
        return "(" + exists(f, predicate) + ")";
    }

    Result<std::string> in_list(const Field& f, const std::vector<Value>& values, bool negated) {
        if (f.kind == FieldKind::attribute) {
            std::vector<SqlValue> bound;
            for (const auto& v : values) {
                auto b = attr_binding(f, v);
                if (!b)
                    return fail(std::move(b.error()));
                bound.push_back(std::move(*b));
            }
            std::string sql = "(" + attr_lhs(f) + (negated ? " NOT IN (" : " IN (");
            for (size_t i = 0; i < bound.size(); ++i) {
                sql += (i ? ", " : "") + attr_rhs(f);
                m_bindings.push_back(std::move(bound[i]));
            }
            return sql + "))";
        }
        // Each element compares by its own type: strings with value, numbers with num (params).
        std::vector<std::string> columns;
        std::vector<std::vector<SqlValue>> groups;
        for (const auto& v : values) {
            auto column = side_column(f, v);
            if (!column)
                return fail(std::move(column.error()));
            auto it = std::find(columns.begin(), columns.end(), *column);
            if (it == columns.end()) {
                columns.push_back(*column);
                groups.emplace_back();
                it = columns.end() - 1;
            }
            groups[static_cast<size_t>(it - columns.begin())].push_back(binding(v));
        }
        m_bindings.emplace_back(f.key);
        std::string match;
        for (size_t g = 0; g < columns.size(); ++g) {
            match += (g ? " OR " : "") + columns[g] + " IN (";
            for (size_t i = 0; i < groups[g].size(); ++i) {
                match += i ? ", ?" : "?";
                m_bindings.push_back(std::move(groups[g][i]));
            }
            match += ")";
        }
        if (columns.size() > 1)
            match = "(" + match + ")";
        // A NULL num (a param that is not a number) is in no list of numbers.
        std::string predicate = negated ? "NOT COALESCE(" + match + ", 0)" : match;
        return "(" + exists(f, predicate) + ")";
    }

    Result<std::string> like(const Field& f, const Token& like_token, const Value& v, bool ilike,
                             bool negated) {
        if (v.type != Value::Type::string)
            return fail(error(v.offset, "'" + like_token.text + "' needs a quoted pattern, got " + v.raw,
                              "write " + f.display + " like '%text%'"));
        std::string column;
        if (f.kind == FieldKind::metric)
            return fail(
                error(like_token, "'" + like_token.text + "' compares text, but metrics are numbers"));
        if (f.kind == FieldKind::attribute) {
            if (f.attr->type != AttrType::string && f.attr->type != AttrType::status)
                return fail(error(like_token, "'" + like_token.text + "' compares text, but " + f.display +
                                                  " is not text"));
            column = f.attr->filter_sql;
        } else {
            m_bindings.emplace_back(f.key);
            column = std::string(side_table(f.kind).alias) + ".value";
        }
        std::string predicate;
        if (ilike) {
            predicate = "lower(" + column + ") LIKE lower(?)";
            m_bindings.emplace_back(v.text);
        } else if (f.kind == FieldKind::attribute && f.attr->type == AttrType::status) {
            predicate = "upper(" + column + ") LIKE upper(?)"; // status ignores case everywhere
            m_bindings.emplace_back(v.text);
        } else {
            predicate = column + " GLOB ?";
            m_bindings.emplace_back(like_to_glob(v.text));
        }
        if (negated)
            predicate = "NOT (" + predicate + ")";
        if (f.kind == FieldKind::attribute)
            return "(" + predicate + ")";
        return "(" + exists(f, predicate) + ")";
    }

    Result<std::string> null_test(const Field& f, bool is_null) {
        if (f.kind == FieldKind::attribute)
            return "(" + std::string(f.attr->order_sql) + (is_null ? " IS NULL)" : " IS NOT NULL)");
        m_bindings.emplace_back(f.key);
        return std::string(is_null ? "(NOT " : "(") + exists(f, "") + ")";
    }

    // "<expr> IS NULL, <expr> DIR" puts runs lacking the key last in both directions.
    std::string order_term(const Field& f, const std::string& direction) {
        if (f.kind == FieldKind::attribute) {
            std::string column(f.attr->order_sql);
            return column + " IS NULL, " + column + " " + direction;
        }
        SideTable s = side_table(f.kind);
        std::string a(s.alias);
        auto lookup = [&](const std::string& column) {
            m_bindings.emplace_back(f.key);
            return "(SELECT " + a + "." + column + " FROM " + std::string(s.table) + " " + a + " WHERE " + a +
                   ".run_id = r.id AND " + a + ".key = ? LIMIT 1)";
        };
        if (f.kind != FieldKind::param) {
            std::string missing = lookup("value");
            std::string sorted = lookup("value");
            return missing + " IS NULL, " + sorted + " " + direction;
        }
        // Params sort numerically when they are numbers (so 0.001 < 0.01 < 0.1 < 1e3), and those come
        // before values that are not numbers, which sort as text.
        std::string missing = lookup("value");
        std::string not_number = lookup("num");
        std::string by_number = lookup("num");
        std::string by_text = lookup("value");
        return missing + " IS NULL, " + not_number + " IS NULL, " + by_number + " " + direction + ", " +
               by_text + " " + direction;
    }

    const Source& m_source;
    std::vector<Token> m_tokens;
    size_t m_pos = 0;
    int m_depth = 0;
    std::vector<SqlValue> m_bindings;
};

bool blank(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
}

} // namespace

Result<SqlFragment> compile_filter(std::string_view filter) {
    if (blank(filter))
        return SqlFragment{"1", {}};
    Source source{filter, "filter"};
    auto tokens = tokenize(source);
    if (!tokens)
        return fail(std::move(tokens.error()));
    return Parser(source, std::move(*tokens)).filter();
}

Result<SqlFragment> compile_order(std::string_view order) {
    Source source{order, "sort key"};
    auto tokens = tokenize(source);
    if (!tokens)
        return fail(std::move(tokens.error()));
    return Parser(source, std::move(*tokens)).order();
}

} // namespace mlo::runs
