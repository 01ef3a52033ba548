import { strict as assert } from 'node:assert';
import { breakdownOf, categoryOf } from '../../../bench/bridge-load/perf-profile.ts';

describe('bench --perf breakdown', () => {
  it('tells JavaScript, V8, OpenSSL linked into node, the addon, C libraries and the kernel apart', () => {
    assert.equal(categoryOf('[JIT] tid 42', '[.] JS:*project file:///x/bridge/video-projection.ts:1:6250'), 'javascript');
    assert.equal(categoryOf('[unknown]', '[.] 0x00007f3a12345678'), 'javascript');
    assert.equal(categoryOf('node', '[.] Builtins_FindOrderedHashMapEntry'), 'v8+node');
    assert.equal(categoryOf('node', '[.] v8::internal::Scavenger::ScavengePage'), 'v8+node');
    assert.equal(categoryOf('node', '[.] _aesni_ctr32_ghash_6x'), 'openssl');
    assert.equal(categoryOf('node', '[.] ossl_gcm_get_ctx_params'), 'openssl');
    assert.equal(categoryOf('node', '[.] EVP_CIPHER_CTX_ctrl'), 'openssl');
    assert.equal(categoryOf('libcrypto.so.3', '[.] anything'), 'openssl');
    assert.equal(categoryOf('salon_media.node', '[.] (anonymous namespace)::QueueRtpFast'), 'addon');
    assert.equal(categoryOf('libc.so.6', '[.] __memmove_avx512_unaligned_erms'), 'c libraries');
    assert.equal(categoryOf('[vdso]', '[.] __vdso_clock_gettime'), 'c libraries');
    assert.equal(categoryOf('[kernel.kallsyms]', '[k] finish_task_switch.isra.0'), 'kernel');
  });

  it('gives each category per forwarded packet, the kernel by system call, and the floor without JavaScript', () => {
    const self = [
      ' 30.00%  |[JIT] tid 7  |[.] JS:*forwardRtpAt file:///x/bridge/conference.ts:1:8543',
      ' 20.00%  |node         |[.] Builtins_LoadIC',
      ' 10.00%  |node         |[.] aesni_gcm_encrypt',
      '  5.00%  |salon_media.node |[.] (anonymous namespace)::SrtpTransform::ProtectRtp',
      '  5.00%  |libc.so.6    |[.] _int_malloc',
      ' 30.00%  |[kernel.kallsyms] |[k] _copy_from_iter',
      'not a line of the report',
    ];
    const inclusive = [
      ' 18.00% | 0.00%  |[k] __x64_sys_sendmmsg',
      '  8.00% | 0.20%  |[k] net_rx_action',
      '  6.00% | 0.00%  |[k] __x64_sys_recvmmsg',
      '  4.00% | 0.00%  |[k] __x64_sys_epoll_pwait',
      ' 95.00% | 0.00%  |[.] Builtins_JSEntry',
    ];
    // 10 CPU-seconds over 1,000,000 forwarded packets: 10 µs each.
    const b = breakdownOf(self, inclusive, 10_000, 10, 1_000_000);
    const us = (name: string) => b.categories.find((c) => c.name.trim() === name)?.usPerPacket;
    assert.equal(us('javascript'), 3);
    assert.equal(us('v8+node (builtins, collector, runtime)'), 2);
    assert.equal(us('openssl'), 1);
    assert.equal(us('kernel'), 3);
    assert.equal(us('sendmmsg'), 1.8);
    assert.equal(us('of which loopback delivery'), 0.8);
    assert.equal(us('recvmmsg'), 0.6);
    assert.equal(us('epoll wait (sleep, wake-up)'), 0.4);
    assert.equal(us('other'), 0.2);
    // Kernel 30 + OpenSSL 10 + addon 5 + C libraries 5 = 50 % of 10 µs.
    assert.equal(b.floorUsPerPacket, 5);
    assert.equal(b.ceilingPpsPerCore, 200_000);
    assert.equal(b.samples, 10_000);
  });
});
