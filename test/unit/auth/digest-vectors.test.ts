import { computeHa1, computeResponse, parseDigestCredentials } from '../../../node/auth/index.js';

describe('RFC known-answer vectors', () => {
  test('RFC 2617 §3.5 MD5 qop=auth example', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
    const response = computeResponse({
      algorithm: 'MD5',
      ha1,
      nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
      method: 'GET',
      uri: '/dir/index.html',
      qop: 'auth',
      nc: '00000001',
      cnonce: '0a4f113b',
    });
    expect(response).toBe('6629fae49393a05397450978507c4ef1');
  });

  const rfc7616 = {
    nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
    cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
    realm: 'http-auth@example.org',
  };

  test('RFC 7616 §3.9.1 SHA-256 example', () => {
    const ha1 = computeHa1('SHA-256', 'Mufasa', rfc7616.realm, 'Circle of Life');
    expect(
      computeResponse({
        algorithm: 'SHA-256',
        ha1,
        nonce: rfc7616.nonce,
        method: 'GET',
        uri: '/dir/index.html',
        qop: 'auth',
        nc: '00000001',
        cnonce: rfc7616.cnonce,
      }),
    ).toBe('753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  });

  test('RFC 7616 §3.9.1 MD5 example', () => {
    const ha1 = computeHa1('MD5', 'Mufasa', rfc7616.realm, 'Circle of Life');
    expect(
      computeResponse({
        algorithm: 'MD5',
        ha1,
        nonce: rfc7616.nonce,
        method: 'GET',
        uri: '/dir/index.html',
        qop: 'auth',
        nc: '00000001',
        cnonce: rfc7616.cnonce,
      }),
    ).toBe('8ca523f5e9506fed4657c9700eebdbec');
  });

  test('the RFC 7616 Authorization header parses to the parameters used above', () => {
    const creds = parseDigestCredentials(
      'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, ' +
        `nonce="${rfc7616.nonce}", nc=00000001, cnonce="${rfc7616.cnonce}", qop=auth, ` +
        'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ' +
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
    );
    expect(creds).toMatchObject({
      username: 'Mufasa',
      realm: rfc7616.realm,
      uri: '/dir/index.html',
      algorithm: 'SHA-256',
      nonce: rfc7616.nonce,
      nc: '00000001',
      cnonce: rfc7616.cnonce,
      qop: 'auth',
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
    });
  });
});
