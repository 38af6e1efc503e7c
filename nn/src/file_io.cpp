// Whole-file reads and atomic writes through POSIX calls: std::ofstream cannot fsync, and only
// rename(2) within one directory gives the all-or-nothing replacement a checkpoint needs.
#include "tapegrad/nn/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "tapegrad/nn/io_error.hpp"

namespace tg::nn {

namespace {

std::string describe(std::string_view who, const std::string& what, const std::filesystem::path& path,
                     int err) {
  return std::string(who) + ": " + what + " '" + path.string() + "': " + std::strerror(err);
}

// Closes the descriptor and removes the temporary file unless the rename already consumed it.
class TempFile {
 public:
  TempFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!renamed_) ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  const std::filesystem::path& path() const { return path_; }
  /// Closes the descriptor, returning errno on failure (a close error can mean lost data on NFS).
  int close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }
  void mark_renamed() { renamed_ = true; }

 private:
  int fd_;
  std::filesystem::path path_;
  bool renamed_ = false;
};

// open(O_EXCL) with mode 0666 lets the umask decide permissions, as for any newly created file
// (mkstemp would force 0600); the pid and a counter keep concurrent writers apart.
TempFile create_temp(const std::filesystem::path& path, std::string_view who) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  for (int attempt = 0; attempt < 100; ++attempt) {
    // Built by append: GCC 12 gives a false -Wrestrict on a chain of operator+ here.
    std::string name = ".";
    name.append(path.filename().string());
    name.append(".tmp.");
    name.append(std::to_string(::getpid()));
    name.append(".");
    name.append(std::to_string(counter++));
    std::filesystem::path tmp = dir / name;
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return TempFile(fd, std::move(tmp));
    if (errno != EEXIST) {
      throw IoError(describe(who, "cannot create a temporary file next to", path, errno));
    }
  }
  throw IoError(describe(who, "cannot find a free temporary file name next to", path, EEXIST));
}

void sync_directory(const std::filesystem::path& path) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: the data itself is already durable
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::vector<std::byte> read_file_bytes(const std::filesystem::path& path, std::string_view who) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(describe(who, "cannot open", path, errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw IoError(describe(who, "cannot stat", path, err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw IoError(std::string(who) + ": '" + path.string() + "' is not a regular file");
  }
  std::vector<std::byte> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      const int err = errno;
      ::close(fd);
      throw IoError(describe(who, "cannot read", path, err));
    }
    if (got == 0) break;  // the file shrank while reading: parse what is there
    done += static_cast<std::size_t>(got);
  }
  ::close(fd);
  bytes.resize(done);
  return bytes;
}

void write_file_atomic(const std::filesystem::path& path, std::span<const std::byte> bytes,
                       std::string_view who) {
  if (!path.has_filename()) {
    throw IoError(std::string(who) + ": '" + path.string() + "' names a directory, not a file");
  }
  TempFile tmp = create_temp(path, who);
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t put = ::write(tmp.fd(), bytes.data() + done, bytes.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) throw IoError(describe(who, "cannot write temporary file for", path, errno));
    done += static_cast<std::size_t>(put);
  }
  if (::fsync(tmp.fd()) != 0) throw IoError(describe(who, "cannot fsync temporary file for", path, errno));
  if (const int err = tmp.close(); err != 0) {
    throw IoError(describe(who, "cannot close temporary file for", path, err));
  }
  if (::rename(tmp.path().c_str(), path.c_str()) != 0) {
    throw IoError(describe(who, "cannot rename temporary file onto", path, errno));
  }
  tmp.mark_renamed();
  sync_directory(path);
}

}  // namespace tg::nn
