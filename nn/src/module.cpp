// Module: registration, tree walks, modes, in-place dtype conversion and state dicts.
#include "tapegrad/nn/module.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <ostream>
#include <sstream>
#include <typeinfo>
#include <unordered_set>

namespace tg::nn {

namespace {

// The demangled C++ type name without namespaces of this library ("Linear", "MyNet").
std::string type_name(const std::type_info& ti) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(ti.name(), nullptr, nullptr, &status), std::free);
  std::string s = (status == 0 && d) ? std::string(d.get()) : std::string(ti.name());
  const std::string prefix = "tg::nn::";
  if (s.rfind(prefix, 0) == 0) s.erase(0, prefix.size());
  return s;
}

std::string join(const std::string& prefix, const std::string& name) {
  if (prefix.empty()) return name;
  std::string s = prefix;
  s += '.';
  s += name;
  return s;
}

}  // namespace

void Module::check_new_name(const std::string& name, const char* what) const {
  std::string who = "Module::";
  who += what;
  who += ": ";
  if (name.empty()) throw ValueError(who + "the name must not be empty");
  if (name.find('.') != std::string::npos) {
    throw ValueError(who + "the name \"" + name + "\" must not contain '.' (dots separate levels of the tree)");
  }
  bool taken = false;
  for (const auto& p : params_) taken = taken || p.first == name;
  for (const auto& b : buffers_) taken = taken || b.first == name;
  for (const auto& c : children_) taken = taken || c.first == name;
  if (taken) throw ValueError(who + "\"" + name + "\" is already registered in " + this->name());
}

Tensor Module::register_parameter(std::string name, Tensor t, bool requires_grad) {
  check_new_name(name, "register_parameter");
  if (!t.defined()) throw ValueError("Module::register_parameter: \"" + name + "\" is an undefined tensor");
  if (!t.is_leaf()) t = t.detach();
  t.requires_grad_(requires_grad);
  params_.emplace_back(std::move(name), t);
  return t;
}

Tensor Module::register_buffer(std::string name, Tensor t, bool persistent) {
  check_new_name(name, "register_buffer");
  if (!t.defined()) throw ValueError("Module::register_buffer: \"" + name + "\" is an undefined tensor");
  t = t.detach();
  buffers_.emplace_back(std::move(name), Buffer{t, persistent});
  return t;
}

void Module::add_child(std::string name, std::shared_ptr<Module> m) {
  check_new_name(name, "register_module");
  if (!m) throw ValueError("Module::register_module: \"" + name + "\" is a null module");
  children_.emplace_back(std::move(name), std::move(m));
}

void Module::replace_child(const std::string& name, std::shared_ptr<Module> m) {
  if (!m) throw ValueError("Module::replace_module: \"" + name + "\" is a null module");
  for (auto& c : children_) {
    if (c.first == name) {
      c.second = std::move(m);
      return;
    }
  }
  throw IndexError("Module::replace_module: " + this->name() + " has no submodule \"" + name + "\"");
}

template <class F>
void Module::walk(const std::string& prefix, F&& f) const {
  f(prefix, *this);
  for (const auto& [n, c] : children_) c->walk(join(prefix, n), f);
}

template <class F>
void Module::visit(F&& f) const {
  f(*this);
  for (const auto& c : children_) c.second->visit(f);
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  if (!recurse) {
    for (const auto& p : params_) out.push_back(p.second);
    return out;
  }
  // A parameter shared by two modules (tied weights) is listed once, so an optimizer updates it once.
  std::unordered_set<const void*> seen;
  visit([&](const Module& m) {
    for (const auto& p : m.params_) {
      if (seen.insert(p.second.impl()).second) out.push_back(p.second);
    }
  });
  return out;
}

StateDict Module::named_parameters(bool recurse) const {
  StateDict out;
  if (!recurse) {
    for (const auto& [n, t] : params_) out.insert(n, t);
    return out;
  }
  std::unordered_set<const void*> seen;
  walk("", [&](const std::string& prefix, const Module& m) {
    for (const auto& [n, t] : m.params_) {
      if (seen.insert(t.impl()).second) out.insert(join(prefix, n), t);
    }
  });
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  if (!recurse) {
    for (const auto& b : buffers_) out.push_back(b.second.tensor);
    return out;
  }
  visit([&](const Module& m) {
    for (const auto& b : m.buffers_) out.push_back(b.second.tensor);
  });
  return out;
}

StateDict Module::named_buffers(bool recurse) const {
  StateDict out;
  if (!recurse) {
    for (const auto& [n, b] : buffers_) out.insert(n, b.tensor);
    return out;
  }
  walk("", [&](const std::string& prefix, const Module& m) {
    for (const auto& [n, b] : m.buffers_) out.insert(join(prefix, n), b.tensor);
  });
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  out.reserve(children_.size());
  for (const auto& c : children_) out.push_back(c.second);
  return out;
}

std::vector<std::pair<std::string, Generator*>> Module::named_generators() const {
  std::vector<std::pair<std::string, Generator*>> out;
  walk("", [&](const std::string& prefix, const Module& m) {
    if (Generator* g = m.own_generator()) out.emplace_back(prefix, g);
  });
  return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() {
  std::vector<std::pair<std::string, Module*>> out;
  walk("", [&](const std::string& prefix, const Module& m) { out.emplace_back(prefix, const_cast<Module*>(&m)); });
  return out;
}

std::vector<Module*> Module::modules() {
  std::vector<Module*> out;
  visit([&](const Module& m) { out.push_back(const_cast<Module*>(&m)); });
  return out;
}

Module& Module::apply(const std::function<void(Module&)>& fn) {
  for (Module* m : modules()) fn(*m);
  return *this;
}

Module& Module::apply(const std::function<void(const std::string&, Module&)>& fn) {
  for (const auto& [n, m] : named_modules()) fn(n, *m);
  return *this;
}

Module& Module::train(bool on) {
  visit([on](const Module& cm) {
    auto& m = const_cast<Module&>(cm);
    m.training_ = on;
    m.on_train(on);
  });
  return *this;
}

void Module::zero_grad(bool set_to_none) {
  visit([set_to_none](const Module& m) {
    for (const auto& p : m.params_) {
      if (set_to_none) {
        p.second.impl()->grad.reset();
      } else {
        p.second.zero_grad();
      }
    }
  });
}

Module& Module::requires_grad_(bool on) {
  for (Tensor& p : parameters()) {
    if (is_floating(p.dtype())) p.requires_grad_(on);
  }
  return *this;
}

std::int64_t Module::num_parameters(bool trainable_only) const {
  std::int64_t n = 0;
  for (const Tensor& p : parameters()) {
    if (!trainable_only || p.requires_grad()) n += p.numel();
  }
  return n;
}

Module& Module::to(Dtype d) {
  if (!is_floating(d)) {
    throw DtypeError(std::string("Module::to: modules convert to float32 or float64, got ") + dtype_name(d));
  }
  auto convert = [d](const Tensor& t) {
    if (t.dtype() == d || !is_floating(t.dtype())) return;
    Tensor converted;
    {
      NoGradGuard ng;
      converted = t.detach().to(d).contiguous();
    }
    // Swap the data behind the existing impl, so every handle to this parameter sees the conversion.
    detail::TensorImpl* impl = t.impl();
    impl->storage = converted.impl()->storage;
    impl->dtype = d;
    impl->offset = converted.storage_offset();
    impl->strides = converted.strides();
    impl->refresh();
    impl->grad.reset();
  };
  for (const Tensor& p : parameters()) convert(p);
  for (const Tensor& b : buffers()) convert(b);
  return *this;
}

StateDict Module::state_dict() const {
  StateDict out;
  walk("", [&](const std::string& prefix, const Module& m) {
    for (const auto& [n, t] : m.params_) out.insert(join(prefix, n), t);
    for (const auto& [n, b] : m.buffers_) {
      if (b.persistent) out.insert(join(prefix, n), b.tensor);
    }
  });
  return out;
}

LoadStateDictResult Module::load_state_dict(const StateDict& dict, bool strict) {
  const StateDict own = state_dict();
  LoadStateDictResult result;
  std::vector<std::string> mismatches;
  for (const auto& [n, dst] : own) {
    const Tensor* src = dict.find(n);
    if (src == nullptr) {
      result.missing_keys.push_back(n);
      continue;
    }
    if (!src->defined()) {
      mismatches.push_back("\"" + n + "\": the dict holds an undefined tensor");
    } else if (src->shape() != dst.shape()) {
      mismatches.push_back("\"" + n + "\": shape " + shape_str(src->shape()) + " in the dict, " +
                           shape_str(dst.shape()) + " in the module");
    } else if (src->dtype() != dst.dtype()) {
      mismatches.push_back("\"" + n + "\": dtype " + dtype_name(src->dtype()) + " in the dict, " +
                           dtype_name(dst.dtype()) + " in the module");
    }
  }
  for (const auto& item : dict) {
    if (!own.contains(item.first)) result.unexpected_keys.push_back(item.first);
  }
  const bool key_problems = strict && (!result.missing_keys.empty() || !result.unexpected_keys.empty());
  if (key_problems || !mismatches.empty()) {
    std::ostringstream os;
    os << "load_state_dict: cannot load into " << name() << ":";
    if (strict) {
      for (const auto& k : result.missing_keys) os << "\n  missing key \"" << k << "\"";
      for (const auto& k : result.unexpected_keys) os << "\n  unexpected key \"" << k << "\"";
    }
    for (const auto& m : mismatches) os << "\n  " << m;
    throw ValueError(os.str());
  }
  NoGradGuard ng;
  for (const auto& [n, dst] : own) {
    const Tensor* src = dict.find(n);
    if (src == nullptr || src->impl() == dst.impl()) continue;
    Tensor target = dst;
    target.copy_(*src);
  }
  return result;
}

std::string Module::name() const { return name_.empty() ? type_name(typeid(*this)) : name_; }

void Module::pretty_print(std::ostream& os) const { os << name(); }

namespace {

void print_tree(std::ostream& os, const Module& m, const std::string& indent) {
  m.pretty_print(os);
  const auto& kids = m.named_children();
  if (kids.empty()) return;
  os << "(\n";
  const std::string inner = indent + "  ";
  for (const auto& [n, c] : kids) {
    os << inner << "(" << n << "): ";
    print_tree(os, *c, inner);
    os << "\n";
  }
  os << indent << ")";
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Module& m) {
  print_tree(os, m, "");
  return os;
}

Functional::Functional(std::function<Tensor(const Tensor&)> fn, std::string name)
    : UnaryModule(std::move(name)), fn_(std::move(fn)) {
  if (!fn_) throw ValueError("Functional: the function must not be empty");
}

}  // namespace tg::nn
