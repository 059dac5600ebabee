/*
 * Exit codes of `ccunlock` - part of the contract with the dracut module, the
 * initramfs-tools scripts, the keyscript and monitoring. Never renumber.
 * Every non-zero code means "not unlocked".
 */
#pragma once

enum ccu_exit {
	CCU_EXIT_OK = 0,
	CCU_EXIT_USAGE = 2,     /* bad command line arguments */
	CCU_EXIT_CONFIG = 3,    /* /etc/ccunlock/ccunlock.conf missing or invalid */
	CCU_EXIT_POSTURE = 4,   /* not a protected VM, or a refused kernel command line */
	CCU_EXIT_NETWORK = 5,   /* broker unreachable / too slow within the deadline */
	CCU_EXIT_DENIED = 6,    /* the broker refused (attestation or policy) */
	CCU_EXIT_WRONG_KEY = 7, /* the released key does not open the keyslot */
	CCU_EXIT_DEVICE = 8,    /* device, LUKS header or ccunlock token missing/invalid */
	CCU_EXIT_INTERNAL = 9,  /* anything else (out of memory, evidence device errors) */
};
