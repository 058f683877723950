import { describe, expect, it } from 'vitest';
import { MAX_USER_ID_LENGTH, userIdProblem } from '../src/index.js';

describe('userIdProblem', () => {
  it.each([
    'teacher-1',
    '3f2c9a1e-6b7d-4c1e-9f0a-2d4b6c8e0f11',
    'org:teacher:42',
    'anna.lund@skola.se',
    'Åsa_Öberg',
    'x'.repeat(MAX_USER_ID_LENGTH),
  ])('accepts %j', (userId) => {
    expect(userIdProblem(userId)).toBeUndefined();
  });

  it.each([
    ['', 'must not be empty'],
    [' teacher', 'contains " "'],
    ['teacher\t1', 'contains "\\t"'],
    ['teacher\n1', 'contains "\\n"'],
    ['teacher\u00001', 'contains "\\u0000"'],
    ['*', 'contains "*"'],
    ['t?', 'contains "?"'],
    ['t[a-z]', 'contains "["'],
    ['t]', 'contains "]"'],
    ['t\\*', 'contains "\\\\"'],
    [null, 'expected a string, got null'],
    [undefined, 'expected a string, got undefined'],
  ])('refuses %j: %s', (userId, problem) => {
    expect(userIdProblem(userId)).toContain(problem);
  });
});
