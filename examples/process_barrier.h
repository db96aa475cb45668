// ProcessBarrier: the examples' stand-in for Python's
// multiprocessing.Barrier — a pthread barrier in shared memory, so that
// threads of a process and its forked children can wait on it together.
// Make it before fork(); every party calls Wait().

#ifndef BUFFERED_PIPE_EXAMPLES_PROCESS_BARRIER_H_
#define BUFFERED_PIPE_EXAMPLES_PROCESS_BARRIER_H_

#include <pthread.h>
#include <sys/mman.h>

class ProcessBarrier {
 public:
  explicit ProcessBarrier(unsigned parties) {
    void* memory = mmap(nullptr, sizeof(pthread_barrier_t), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    barrier_ = memory == MAP_FAILED ? nullptr : static_cast<pthread_barrier_t*>(memory);
    if (barrier_ == nullptr) return;
    pthread_barrierattr_t attributes;
    pthread_barrierattr_init(&attributes);
    pthread_barrierattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    pthread_barrier_init(barrier_, &attributes, parties);
    pthread_barrierattr_destroy(&attributes);
  }
  ProcessBarrier(const ProcessBarrier&) = delete;
  ProcessBarrier& operator=(const ProcessBarrier&) = delete;

  bool ok() const { return barrier_ != nullptr; }
  void Wait() { pthread_barrier_wait(barrier_); }

 private:
  pthread_barrier_t* barrier_;
};

#endif  // BUFFERED_PIPE_EXAMPLES_PROCESS_BARRIER_H_
