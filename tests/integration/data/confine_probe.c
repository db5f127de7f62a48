/* Confinement probes for tests/integration/test_confinement.py, built there with
 * `gcc -static` into a test image (never committed as a binary).
 * Each probe prints "<name>=ok" or "<name>=<errno name>", or a value. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0
#define KEY_SPEC_SESSION_KEYRING -3
#define KEY_SPEC_PROCESS_KEYRING -2

static const char *err_name(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case ENOKEY: return "ENOKEY";
    default: return strerror(e);
    }
}

static int report(const char *name, long ret) {
    if (ret < 0)
        printf("%s=%s\n", name, err_name(errno));
    else
        printf("%s=ok\n", name);
    return 0;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *p = argv[i];
        if (!strcmp(p, "keyctl")) {
            report(p, syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
        } else if (!strcmp(p, "session_keyring")) {   /* the serial, to compare with the host's */
            long id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
            if (id < 0) printf("%s=%s\n", p, err_name(errno)); else printf("%s=%ld\n", p, id);
        } else if (!strcmp(p, "add_key")) {
            report(p, syscall(SYS_add_key, "user", "pyctr-probe", "x", 1, KEY_SPEC_PROCESS_KEYRING));
        } else if (!strcmp(p, "personality")) {
            report(p, personality(READ_IMPLIES_EXEC));
        } else if (!strcmp(p, "personality_query")) {
            report(p, personality(0xffffffff));
        } else if (!strcmp(p, "unshare_user")) {
            report(p, unshare(CLONE_NEWUSER));
        } else if (!strcmp(p, "unshare_mount")) {
            report(p, unshare(CLONE_NEWNS));
        } else if (!strcmp(p, "mkdir")) {
            report(p, mkdir("/tmp/pyctr-probe-dir", 0755));
        } else {
            printf("%s=unknown-probe\n", p);
        }
    }
    return 0;
}
