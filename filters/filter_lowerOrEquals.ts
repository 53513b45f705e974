import { defineBoundFilter } from '../src/modules/api.js';

export default defineBoundFilter('filter_lowerOrEquals',
  'Passes when the field is lower than or equal to the value (numbers with numbers, strings with strings).',
  (order) => order <= 0);
