// Placeholder until the test driver lands here (another branch writes it): the ./testing export and the build need a file.
export {};
