#!/bin/sh
# Whole boots of an Azure confidential VM's unlock under QEMU (TCG): the
# guest's TPM is swtpm provisioned as Azure's vTPM, the guest binary's
# evidence is azure-vtpm, the test build's simulated paravisor writes the
# HCL report (tests/vm/provider-azure.sh). See tests/vm/lib.sh.
CCU_VM_PROVIDER=$(cd "$(dirname "$0")" && pwd)/provider-azure.sh
export CCU_VM_PROVIDER
. "$(dirname "$0")/lib.sh"

vm_setup azure-vtpm
vm_image az dracut-systemd main+device
vm_image az-it itools main+device
vm_image az-console dracut-systemd console+device
vm_image az-replay dracut-systemd replay+device

vm_plan 5
vm_case az good allow root "dracut (systemd): azure-vtpm evidence, PCRs of the known-good boot: unlocked, root reached"
vm_case az-it good allow root "initramfs-tools: azure-vtpm evidence, PCRs of the known-good boot: unlocked, root reached"
vm_case az good deny-pcr 'refuse:ccunlock: [A-Z_]*DENIED[A-Z_]*: .*POLICY_PCR: pcr\.7:' \
	"a PCR that does not match the policy: powered off"
vm_case az-console good allow 'refuse:ccunlock: [A-Z_]*DENIED[A-Z_]*: .*POLICY_AZURE_CONSOLE' \
	"console-enabled VM under azure.console = forbidden: powered off"
vm_case az-replay good allow 'refuse:ccunlock: [A-Z_]*: .*AZ_QUOTE_NONCE' \
	"quote for an earlier session's binding (replayed): powered off"
vm_shell_summary
vm_finish
