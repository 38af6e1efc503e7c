// A tiny XML well-formedness checker and tree for the plotting tests: independent of the writer it
// checks, strict about what SVG output needs (balanced tags, quoted unique attributes, valid entities).
#pragma once

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tgtest::xml {

/// One element with its attributes, unescaped text content and children.
struct Element {
  std::string name;                          ///< tag name
  std::map<std::string, std::string> attrs;  ///< unescaped attribute values
  std::string text;                          ///< concatenated unescaped character data
  std::vector<std::unique_ptr<Element>> children;  ///< child elements in order

  /// Every descendant (this one included) named `tag`, in document order.
  void collect(std::string_view tag, std::vector<const Element*>& out) const {
    if (name == tag) {
      out.push_back(this);
    }
    for (const auto& c : children) {
      c->collect(tag, out);
    }
  }
  /// Shorthand for collect() into a fresh vector.
  std::vector<const Element*> all(std::string_view tag) const {
    std::vector<const Element*> out;
    collect(tag, out);
    return out;
  }
};

/// Thrown with the byte offset and the rule that was broken.
struct Malformed : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  /// Parses the whole document; throws Malformed on the first violation.
  std::unique_ptr<Element> document() {
    skip_ws();
    if (starts("<?xml")) {
      const auto end = s_.find("?>", pos_);
      if (end == std::string_view::npos) {
        fail("unterminated XML declaration");
      }
      pos_ = end + 2;
    }
    skip_misc();
    if (!starts("<")) {
      fail("no root element");
    }
    auto root = element();
    skip_misc();
    if (pos_ != s_.size()) {
      fail("content after the root element");
    }
    return root;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Malformed("offset " + std::to_string(pos_) + ": " + why);
  }
  bool starts(std::string_view p) const { return s_.substr(pos_, p.size()) == p; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  void skip_misc() {
    for (;;) {
      skip_ws();
      if (starts("<!--")) {
        const auto end = s_.find("-->", pos_);
        if (end == std::string_view::npos) {
          fail("unterminated comment");
        }
        pos_ = end + 3;
      } else {
        return;
      }
    }
  }
  static bool name_char(char c, bool first) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    return letter || (!first && ((c >= '0' && c <= '9') || c == '-' || c == '.'));
  }
  std::string name() {
    const auto start = pos_;
    if (pos_ >= s_.size() || !name_char(s_[pos_], true)) {
      fail("expected a name");
    }
    while (pos_ < s_.size() && name_char(s_[pos_], false)) {
      ++pos_;
    }
    return std::string(s_.substr(start, pos_ - start));
  }
  // Character data up to `stop`, with entities resolved; rejects '<' and bad characters.
  std::string chars(char stop) {
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != stop) {
      const char c = s_[pos_];
      if (c == '<') {
        fail("'<' in character data or attribute value");
      }
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r') {
        fail("control character " + std::to_string(static_cast<int>(c)));
      }
      if (c == '&') {
        const auto end = s_.find(';', pos_);
        if (end == std::string_view::npos || end - pos_ > 10) {
          fail("unterminated entity");
        }
        const auto ent = s_.substr(pos_ + 1, end - pos_ - 1);
        static const std::map<std::string_view, char> named{
            {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
        if (const auto it = named.find(ent); it != named.end()) {
          out += it->second;
        } else if (ent.size() > 1 && ent[0] == '#') {
          const bool hex = ent[1] == 'x';
          const std::string digits(ent.substr(hex ? 2 : 1));
          if (digits.empty() || digits.find_first_not_of(hex ? "0123456789abcdefABCDEF" : "0123456789") !=
                                    std::string::npos) {
            fail("bad character reference &" + std::string(ent) + ";");
          }
          out += '?';  // the tests only need to know it is valid
        } else {
          fail("unknown entity &" + std::string(ent) + ";");
        }
        pos_ = end + 1;
        continue;
      }
      out += c;
      ++pos_;
    }
    return out;
  }
  std::unique_ptr<Element> element() {
    ++pos_;  // '<'
    auto e = std::make_unique<Element>();
    e->name = name();
    for (;;) {
      const auto before = pos_;
      skip_ws();
      if (starts("/>")) {
        pos_ += 2;
        return e;
      }
      if (starts(">")) {
        ++pos_;
        break;
      }
      if (pos_ == before) {
        fail("expected whitespace before attribute");
      }
      const std::string key = name();
      skip_ws();
      if (!starts("=")) {
        fail("attribute '" + key + "' has no value");
      }
      ++pos_;
      skip_ws();
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) {
        fail("attribute '" + key + "' is not quoted");
      }
      const char quote = s_[pos_++];
      std::string value = chars(quote);
      if (pos_ >= s_.size()) {
        fail("unterminated attribute value");
      }
      ++pos_;
      if (!e->attrs.emplace(key, std::move(value)).second) {
        fail("duplicate attribute '" + key + "'");
      }
    }
    for (;;) {
      e->text += chars('<');
      if (pos_ >= s_.size()) {
        fail("unclosed element <" + e->name + ">");
      }
      if (starts("</")) {
        pos_ += 2;
        const std::string closing = name();
        if (closing != e->name) {
          fail("</" + closing + "> closes <" + e->name + ">");
        }
        skip_ws();
        if (!starts(">")) {
          fail("expected '>'");
        }
        ++pos_;
        return e;
      }
      if (starts("<!--")) {
        skip_misc();
        continue;
      }
      e->children.push_back(element());
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

/// Parses `doc`, throwing Malformed when it is not well-formed XML.
inline std::unique_ptr<Element> parse(std::string_view doc) { return Parser(doc).document(); }

/// Runs `xmllint --noout` on `doc` when xmllint is installed. Returns true when it accepted the
/// document or is not available (the in-test checker above always runs).
inline bool xmllint_accepts(const std::string& doc, const std::string& scratch_file) {
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0) {
    return true;
  }
  {
    std::ofstream f(scratch_file, std::ios::binary);
    f << doc;
  }
  const std::string cmd = "xmllint --noout '" + scratch_file + "' 2>/dev/null";
  return std::system(cmd.c_str()) == 0;
}

}  // namespace tgtest::xml
