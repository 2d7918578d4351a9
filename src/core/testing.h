/* Private to libkist and its unit tests: switches for reaching code paths
 * that this machine would not otherwise take. */
#ifndef KIST_CORE_TESTING_H
#define KIST_CORE_TESTING_H

/* Use openat2(2) for kist_path_open_beneath when the kernel has it (default
 * on); off forces the portable component-by-component walk. */
void kist_path_use_openat2(int on);

#endif
