// An ordered name → Tensor dictionary: what Module::state_dict() returns, named_parameters() lists and
// load_state_dict() reads. Insertion order is kept (parameters before buffers, parents before children),
// and lookup by name is O(1).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tapegrad/tensor.hpp"

namespace tg::nn {

/// Dotted names ("layers.0.weight") mapped to tensors, in insertion order. Iterating yields
/// `std::pair<std::string, Tensor>`, so `for (const auto& [name, t] : dict)` works.
class StateDict {
 public:
  using Item = std::pair<std::string, Tensor>;
  using const_iterator = std::vector<Item>::const_iterator;

  StateDict() = default;
  /// The entries of a list of (name, tensor) pairs, in its order, such as the named tensors a file
  /// loader returns. Throws ValueError on a repeated name.
  StateDict(std::vector<Item> items);  // NOLINT: implicit, so loaded tensor lists pass straight in
  /// The entries of a std::map (in name order).
  explicit StateDict(const std::map<std::string, Tensor>& m);
  /// The entries as a plain list of (name, tensor) pairs (a copy of the handles, sharing data), so that a
  /// state dict passes straight to functions taking `std::vector<std::pair<std::string, Tensor>>`.
  operator std::vector<Item>() const { return items_; }  // NOLINT: implicit on purpose

  /// Appends name → t. Throws ValueError when the name is already present.
  void insert(std::string name, Tensor t);
  /// Replaces the tensor under name, or appends it when absent.
  void insert_or_assign(const std::string& name, Tensor t);
  /// True when name is present.
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  /// The tensor under name; throws IndexError listing a few known names when absent.
  const Tensor& at(const std::string& name) const;
  /// Pointer to the tensor under name, or nullptr.
  const Tensor* find(const std::string& name) const;
  /// Removes name; returns false when it was absent.
  bool erase(const std::string& name);
  /// Number of entries.
  std::size_t size() const { return items_.size(); }
  /// True when there are no entries.
  bool empty() const { return items_.empty(); }
  /// The names in order.
  std::vector<std::string> keys() const;
  /// The tensors in order.
  std::vector<Tensor> values() const;
  /// The entries in order.
  const std::vector<Item>& items() const { return items_; }
  /// Entry i in insertion order.
  const Item& operator[](std::size_t i) const { return items_[i]; }
  /// Iteration over the entries in order.
  const_iterator begin() const { return items_.begin(); }
  /// End of the entries.
  const_iterator end() const { return items_.end(); }
  /// The same entries as a std::map (for code that wants name order).
  std::map<std::string, Tensor> to_map() const;

 private:
  std::vector<Item> items_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace tg::nn
