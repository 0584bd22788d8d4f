#pragma once
// A bounded map with least-recently-used eviction, for the per-thread open
// file cache. Not thread-safe: each loop thread owns its own.
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace wok::router {

template <typename Value>
class LruMap {
 public:
  explicit LruMap(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The value for key, marked as most recently used; nullptr when absent.
  Value* find(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  // Inserts (or replaces) and evicts the least recently used beyond
  // capacity, handing each evicted or replaced value to on_evict.
  template <typename OnEvict>
  Value& insert(std::string_view key, Value value, OnEvict on_evict) {
    if (auto it = index_.find(key); it != index_.end()) {
      on_evict(it->second->second);
      order_.erase(it->second);
      index_.erase(it);
    }
    order_.emplace_front(std::string(key), std::move(value));
    index_.emplace(order_.front().first, order_.begin());
    while (order_.size() > capacity_) {
      on_evict(order_.back().second);
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return order_.front().second;
  }
  Value& insert(std::string_view key, Value value) {
    return insert(key, std::move(value), [](const Value&) {});
  }

  size_t size() const { return order_.size(); }
  void clear() {
    index_.clear();
    order_.clear();
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Entry = std::pair<std::string, Value>;
  size_t capacity_;
  std::list<Entry> order_;  // most recent first
  // Keys view the strings owned by order_'s entries (stable in a list).
  std::unordered_map<std::string_view, typename std::list<Entry>::iterator, Hash, std::equal_to<>>
      index_;
};

}  // namespace wok::router
