import React from 'react';

const Index = () => <h1>Hello!</h1>;

export default Index;
