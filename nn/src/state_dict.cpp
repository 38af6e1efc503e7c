// StateDict: an insertion-ordered name → Tensor map with O(1) lookup.
#include "tapegrad/nn/state_dict.hpp"

#include <sstream>

namespace tg::nn {

StateDict::StateDict(std::vector<Item> items) {
  for (auto& [n, t] : items) insert(std::move(n), std::move(t));
}

StateDict::StateDict(const std::map<std::string, Tensor>& m) {
  for (const auto& [n, t] : m) insert(n, t);
}

void StateDict::insert(std::string name, Tensor t) {
  if (index_.count(name) != 0) throw ValueError("StateDict::insert: \"" + name + "\" is already present");
  index_.emplace(name, items_.size());
  items_.emplace_back(std::move(name), std::move(t));
}

void StateDict::insert_or_assign(const std::string& name, Tensor t) {
  const auto it = index_.find(name);
  if (it == index_.end()) {
    insert(name, std::move(t));
    return;
  }
  items_[it->second].second = std::move(t);
}

const Tensor* StateDict::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &items_[it->second].second;
}

const Tensor& StateDict::at(const std::string& name) const {
  if (const Tensor* t = find(name)) return *t;
  std::ostringstream os;
  os << "StateDict::at: no entry \"" << name << "\"";
  if (!items_.empty()) {
    os << "; it holds";
    const std::size_t shown = items_.size() < 8 ? items_.size() : 8;
    for (std::size_t i = 0; i < shown; ++i) os << (i ? ", " : " ") << '"' << items_[i].first << '"';
    if (shown < items_.size()) os << ", ... (" << items_.size() << " in all)";
  }
  throw IndexError(os.str());
}

bool StateDict::erase(const std::string& name) {
  const auto it = index_.find(name);
  if (it == index_.end()) return false;
  items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(it->second));
  index_.clear();
  for (std::size_t i = 0; i < items_.size(); ++i) index_.emplace(items_[i].first, i);
  return true;
}

std::vector<std::string> StateDict::keys() const {
  std::vector<std::string> out;
  out.reserve(items_.size());
  for (const auto& item : items_) out.push_back(item.first);
  return out;
}

std::vector<Tensor> StateDict::values() const {
  std::vector<Tensor> out;
  out.reserve(items_.size());
  for (const auto& item : items_) out.push_back(item.second);
  return out;
}

std::map<std::string, Tensor> StateDict::to_map() const {
  std::map<std::string, Tensor> out;
  for (const auto& [n, t] : items_) out.emplace(n, t);
  return out;
}

}  // namespace tg::nn
