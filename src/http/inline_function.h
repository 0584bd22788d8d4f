#pragma once
// A move-only std::function with room for the callables the event loop is
// given on every request (a shared_ptr, or `this` and two ids) inside the
// object itself. std::function keeps only trivially copyable callables of
// up to 16 bytes inline and allocates for anything else, such as a lambda
// holding a shared_ptr: that was several heap allocations per proxied
// request. Larger callables still go to the heap.
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace wok::http {

template <class Signature, size_t Bytes = 48>
class InlineFunction;

template <class R, class... Args, size_t Bytes>
class InlineFunction<R(Args...), Bytes> {
 public:
  static constexpr size_t kInlineBytes = Bytes;

  InlineFunction() noexcept = default;
  InlineFunction(std::nullptr_t) noexcept {}  // NOLINT: as std::function

  template <class F, class D = std::decay_t<F>,
            class = std::enable_if_t<!std::is_same_v<D, InlineFunction> &&
                                     std::is_invocable_r_v<R, D&, Args...>>>
  InlineFunction(F&& f) {  // NOLINT: implicit, as std::function
    if constexpr (fits_inline<D>()) {
      ::new (static_cast<void*>(storage_)) D(std::forward<F>(f));
      ops_ = &kInlineOps<D>;
    } else {
      ::new (static_cast<void*>(storage_)) D*(new D(std::forward<F>(f)));
      ops_ = &kHeapOps<D>;
    }
  }

  InlineFunction(InlineFunction&& other) noexcept { take(other); }
  // The old callable is destroyed last: its destructor may drop what owns
  // this object (a session held only by its own callback).
  InlineFunction& operator=(InlineFunction&& other) noexcept {
    if (this != &other) {
      InlineFunction old(std::move(*this));
      take(other);
    }
    return *this;
  }
  InlineFunction(const InlineFunction&) = delete;
  InlineFunction& operator=(const InlineFunction&) = delete;
  ~InlineFunction() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  R operator()(Args... args) { return ops_->call(storage_, std::forward<Args>(args)...); }

  // Whether a callable of type D is kept inside the object (no allocation).
  template <class D>
  static constexpr bool fits_inline() {
    return sizeof(D) <= kInlineBytes && alignof(D) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<D>;
  }

 private:
  struct Ops {
    R (*call)(void* storage, Args&&... args);
    void (*move)(void* from, void* to) noexcept;  // leaves `from` destroyed
    void (*destroy)(void* storage) noexcept;
  };

  template <class D>
  static constexpr Ops kInlineOps{[](void* s, Args&&... args) -> R {
                                    return (*static_cast<D*>(s))(std::forward<Args>(args)...);
                                  },
                                  [](void* from, void* to) noexcept {
                                    ::new (to) D(std::move(*static_cast<D*>(from)));
                                    static_cast<D*>(from)->~D();
                                  },
                                  [](void* s) noexcept { static_cast<D*>(s)->~D(); }};

  template <class D>
  static constexpr Ops kHeapOps{
      [](void* s, Args&&... args) -> R {
        return (**static_cast<D**>(s))(std::forward<Args>(args)...);
      },
      [](void* from, void* to) noexcept { ::new (to) D*(*static_cast<D**>(from)); },
      [](void* s) noexcept { delete *static_cast<D**>(s); }};

  void take(InlineFunction& other) noexcept {
    if (other.ops_) {
      other.ops_->move(other.storage_, storage_);
      ops_ = other.ops_;
      other.ops_ = nullptr;
    }
  }
  void reset() noexcept {
    if (ops_) {
      const Ops* ops = ops_;
      ops_ = nullptr;
      ops->destroy(storage_);
    }
  }

  alignas(std::max_align_t) unsigned char storage_[kInlineBytes];
  const Ops* ops_ = nullptr;
};

}  // namespace wok::http
